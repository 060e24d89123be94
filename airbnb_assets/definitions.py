"""The Dagster code location: assets, checks, jobs, schedules and the environment's resources."""

import dagster as dg

from airbnb_assets.environments import build_resources, current_settings
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.jobs import daily_job, daily_schedule
from airbnb_assets.silver.assets import silver_listings

defs = dg.Definitions(
    assets=[bronze_ingest, silver_listings, gold_listing_features],
    jobs=[daily_job],
    schedules=[daily_schedule],
    resources=build_resources(current_settings()),
)
