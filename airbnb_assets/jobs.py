"""The daily job and its schedule, and the retrain job.

The daily job is partitioned by day: its predictions and monitoring assets are daily partitions;
bronze, silver and gold in the same run are unpartitioned incremental assets that process
whatever landed since their checkpoints (:mod:`airbnb_assets.partitions`). Training is its own
job, requested by :mod:`~airbnb_assets.ml.retrain_sensor` after a day whose gold holds a labelled
snapshot no retrain has judged (or scheduled, or run by hand): what it promotes serves from the
next day.
"""

import dagster as dg

from airbnb_assets.partitions import DAILY
from airbnb_assets.platform.tables import MODEL_KEY

#: Runs with this tag are queued one at a time (``dagster.yaml``: ``tag_concurrency_limits``).
WRITER_TAG = {"airbnb/writer": "lakehouse"}

#: Every asset of the daily flow, in dependency order, in one process (one SparkSession).
daily_job = dg.define_asset_job(
    name="daily_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(MODEL_KEY),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
    description="Landing → bronze → silver → gold → predictions (serving champion) → drift → "
    "dashboard, one day (retrain_job trains, requested by retrain_sensor).",
)

#: Runs at 06:00 San Francisco time for the day that just ended (partition = yesterday).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_job, hour_of_day=6, minute_of_hour=0, name="daily_schedule"
)

#: Retrains the price model for a day: requested by ``retrain_sensor``, or run by hand
#: (Launchpad config ``force_retrain: true`` retrains even when no new labelled snapshot arrived).
retrain_job = dg.define_asset_job(
    name="retrain_job",
    selection=dg.AssetSelection.assets(MODEL_KEY),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
    description="Retrain the price model on gold's labelled snapshots up to the day; the "
    "out-of-time gate decides promotion, which serves from the next day.",
)
