"""What a partition means here: one processing day for the model, predictions and monitoring.

Bronze, silver and gold are *not* partitioned: they are incremental streams (Auto Loader / DLT
semantics) that process whatever is new since their checkpoint, so a partition would mean nothing
for them. The model, the predictions, the drift report and the dashboard are daily: a backfill of
day D re-scores D with the model that served D and re-judges it. The daily job runs both kinds
together; the ETL assets stamp their ledger and quality rows with the run's day
(:func:`processing_day`).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

#: Timezone of the business (San Francisco); the schedule and partitions follow it.
TIMEZONE = "America/Los_Angeles"
#: One partition per day since before the first snapshot (2015-05-04).
DAILY = dg.DailyPartitionsDefinition(start_date="2015-01-01", timezone=TIMEZONE)


def processing_day(context: dg.AssetExecutionContext) -> str:
    """The day a run processes: its partition when the run has one (the daily job), else today."""
    if context.has_partition_key:
        return context.partition_key
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()


def partition_day(context: dg.AssetExecutionContext) -> dt.date:
    """The date of a daily asset's partition (model, predictions, monitoring)."""
    return dt.date.fromisoformat(context.partition_key)
