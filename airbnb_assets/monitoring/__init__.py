"""Monitoring: drift reports (Evidently), alerts (sensors + notifier) and the daily dashboard."""
