"""The daily partitions shared by the daily job's assets (one partition = one processing day)."""

import dagster as dg

#: Timezone of the business (San Francisco); the schedule and partitions follow it.
TIMEZONE = "America/Los_Angeles"
#: One partition per day since before the first snapshot (2015-05-04).
DAILY = dg.DailyPartitionsDefinition(start_date="2015-01-01", timezone=TIMEZONE)
