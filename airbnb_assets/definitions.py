"""The Dagster code location: assets, checks, jobs, schedules and the environment's resources."""

import dagster as dg

from airbnb_assets.environments import Settings, build_resources, current_settings
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.jobs import daily_job, daily_schedule, retrain_job
from airbnb_assets.ml.assets.model import price_model
from airbnb_assets.ml.assets.predictions import price_predictions
from airbnb_assets.ml.retrain_sensor import retrain_sensor
from airbnb_assets.monitoring.alerts.sensor import drift_alert_sensor
from airbnb_assets.monitoring.dashboard.assets import dashboard
from airbnb_assets.monitoring.drift.assets import drift_report
from airbnb_assets.platform.bootstrap import bootstrap_job
from airbnb_assets.silver.assets import silver_listings

#: Every asset: the daily flow (bronze → silver → gold → predictions → monitoring) and the model.
ASSETS = [
    bronze_ingest,
    silver_listings,
    gold_listing_features,
    price_model,
    price_predictions,
    drift_report,
    dashboard,
]


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for one environment's settings (tests pass their own)."""
    assets, bootstrap = ASSETS, bootstrap_job
    if settings.compute == "pipes":  # each Spark step submits its own Databricks run
        from airbnb_assets.pipes import remote_asset, remote_bootstrap_job

        assets, bootstrap = [remote_asset(asset) for asset in ASSETS], remote_bootstrap_job
    return dg.Definitions(
        assets=assets,
        jobs=[daily_job, retrain_job, bootstrap],
        schedules=[daily_schedule],
        sensors=[drift_alert_sensor, retrain_sensor],
        resources=build_resources(settings),
    )


#: The code location of the environment selected when this module is imported (``workspace.yaml``).
defs = build_definitions(current_settings())


@dg.definitions
def location_definitions() -> dg.Definitions:
    """The same code location, built when it is loaded (the replay's sensor ticks use it)."""
    return build_definitions(current_settings())
