"""The daily job and its schedule, and the manual retrain job.

The daily job is partitioned by day: its model, predictions and monitoring assets are daily
partitions; bronze, silver and gold in the same run are unpartitioned incremental assets that
process whatever landed since their checkpoints (:mod:`airbnb_assets.partitions`).
"""

import dagster as dg

from airbnb_assets.partitions import DAILY
from airbnb_assets.platform.tables import MODEL_KEY

#: Runs with this tag are queued one at a time (``dagster.yaml``: ``tag_concurrency_limits``).
WRITER_TAG = {"airbnb/writer": "lakehouse"}

#: Every asset of the daily flow, in dependency order, in one process (one SparkSession).
daily_job = dg.define_asset_job(
    name="daily_job",
    selection=dg.AssetSelection.all(),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
    description="Landing → bronze → silver → gold → predictions (serving champion) → drift → model "
    "(retrain, serves from the next day) → dashboard, one day.",
)

#: Runs at 06:00 San Francisco time for the day that just ended (partition = yesterday).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_job, hour_of_day=6, minute_of_hour=0, name="daily_schedule"
)

#: Retrains the price model for a day by hand (Launchpad config ``force_retrain: true``).
retrain_job = dg.define_asset_job(
    name="retrain_job",
    selection=dg.AssetSelection.assets(MODEL_KEY),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
    description="Retrain the price model; the out-of-time gate decides promotion.",
)
