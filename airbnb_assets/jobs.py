"""The daily job and its schedule."""

import dagster as dg

from airbnb_assets.partitions import DAILY

#: Every asset of the daily flow, in dependency order, in one process (one SparkSession).
daily_job = dg.define_asset_job(
    name="daily_job",
    selection=dg.AssetSelection.all(),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    description="Landing → bronze → silver → gold → price model → predictions for one day.",
)

#: Runs at 06:00 San Francisco time for the day that just ended (partition = yesterday).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_job, hour_of_day=6, minute_of_hour=0, name="daily_schedule"
)
