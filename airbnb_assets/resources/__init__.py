"""Dagster resources that are not storage: MLflow, monitoring settings, secrets and the alert notifier.

Storage (Spark, the lakehouse, tables, artefacts) is :mod:`airbnb_assets.platform`.
"""
