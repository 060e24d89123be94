"""The Dagster code location: assets, checks, jobs, schedules and the environment's resources."""

import dagster as dg

from airbnb_assets.environments import Settings, build_resources, current_settings
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.jobs import daily_job, daily_schedule
from airbnb_assets.ml.assets import price_model, price_predictions
from airbnb_assets.silver.assets import silver_listings

#: Every asset of the daily flow (bronze → silver → gold → model → predictions).
ASSETS = [bronze_ingest, silver_listings, gold_listing_features, price_model, price_predictions]


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for one environment's settings (tests pass their own)."""
    return dg.Definitions(
        assets=ASSETS,
        jobs=[daily_job],
        schedules=[daily_schedule],
        resources=build_resources(settings),
    )


defs = build_definitions(current_settings())
