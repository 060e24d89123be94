"""Alerts: turn drift reports into one alert per drift episode and deliver them.

Owns ``drift_alert_sensor`` (:mod:`.sensor`) and the episode logic (:mod:`.episodes`, pure). The
sensor reads ``monitoring/drift_report`` materializations from the Dagster instance and sends
alerts through the notifier resource (:mod:`airbnb_assets.resources.notifier`).

May import: ``platform.tables`` (asset keys), ``resources``. Never imports ``drift`` or
``dashboard``: the drift report's materialization metadata is its only input.
"""
