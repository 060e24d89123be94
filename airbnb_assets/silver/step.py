"""The incremental silver step: new bronze rows → silver, quarantine and ``ops/data_quality``.

Bronze is read as a Delta stream (``availableNow``), so each run processes exactly the rows
appended since the last one, like a DLT streaming table. Writes are idempotent per micro-batch.
When a ``fail`` rule is violated, only the data-quality record of the attempt is written and
the batch is retried on the next run (after the rule or the data is fixed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F
from pyspark.sql import types as T

from airbnb_assets.incremental import BatchContext, run_available_now
from airbnb_assets.resources.lakehouse import (
    BRONZE_LISTINGS,
    DATA_QUALITY,
    SILVER_LISTINGS,
    SILVER_QUARANTINE,
    LakehouseResource,
)
from airbnb_assets.silver.parse import parse_bronze
from airbnb_assets.silver.quality import KEY, ExpectationFailed, evaluate, rank_duplicates, split

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DQ_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), True),
        T.StructField("run_date", T.StringType(), True),
        T.StructField("batch", T.StringType(), False),
        T.StructField("snapshot_date", T.DateType(), True),
        T.StructField("rule", T.StringType(), False),
        T.StructField("action", T.StringType(), False),
        T.StructField("total_rows", T.LongType(), False),
        T.StructField("failed_rows", T.LongType(), False),
        T.StructField("passed_rows", T.LongType(), False),
        T.StructField("quarantined_rows", T.LongType(), False),
        T.StructField("committed", T.BooleanType(), False),
        T.StructField("evaluated_at", T.TimestampType(), False),
    ]
)


@dataclass
class SilverReport:
    """Counts of one silver run: per (snapshot date, rule) rows of ``ops/data_quality``."""

    quality: list[dict[str, Any]] = field(default_factory=list)

    def failed(self, rule: str) -> int:
        """Rows that failed ``rule`` in this run."""
        return sum(r["failed_rows"] for r in self.quality if r["rule"] == rule)

    def _per_batch_snapshot(self, column: str) -> int:
        return sum({(r["batch"], r["snapshot_date"]): r[column] for r in self.quality}.values())

    @property
    def evaluated(self) -> int:
        """Bronze rows evaluated in this run."""
        return self._per_batch_snapshot("total_rows")

    @property
    def quarantined(self) -> int:
        """Rows this run sent to quarantine."""
        return self._per_batch_snapshot("quarantined_rows")

    @property
    def snapshot_dates(self) -> list[dt.date]:
        """Snapshot dates touched by this run."""
        return sorted({r["snapshot_date"] for r in self.quality})


def _existing_keys(
    spark: SparkSession, lakehouse: LakehouseResource, batch_tag: str, dates: list[dt.date]
) -> DataFrame | None:
    if not dates or not lakehouse.exists(spark, SILVER_LISTINGS):
        return None
    silver = lakehouse.read(spark, SILVER_LISTINGS)
    return silver.filter(F.col("snapshot_date").isin(dates) & (F.col("_batch") != batch_tag)).select(*KEY)


def process_bronze_batch(
    spark: SparkSession,
    lakehouse: LakehouseResource,
    bronze_rows: DataFrame,
    ctx: BatchContext,
    run_id: str | None = None,
    run_date: str | None = None,
) -> list[dict[str, Any]]:
    """Parse, check and write one batch of bronze rows; return its data-quality records."""
    batch_tag = f"{ctx.stream_id}:{ctx.batch_id}"
    parsed = parse_bronze(bronze_rows)
    dates = [r[0] for r in parsed.select("snapshot_date").distinct().collect()]
    ranked = rank_duplicates(parsed, _existing_keys(spark, lakehouse, batch_tag, dates))
    evaluated = evaluate(ranked).withColumn("_processed_at", F.current_timestamp()).persist()
    try:
        outcome = split(evaluated)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        counts = [r.asDict() for r in outcome.counts.collect()]
        violated = sorted({c["rule"] for c in counts if c["action"] == "fail" and c["failed_rows"]})
        records = [
            {
                **c,
                "run_id": run_id,
                "run_date": run_date,
                "batch": batch_tag,
                "committed": not violated,
                "evaluated_at": now,
            }
            for c in counts
        ]
        quality = spark.createDataFrame(records, schema=DQ_SCHEMA) if records else None
        if violated:
            if quality is not None:
                lakehouse.append(quality, DATA_QUALITY)  # record the failed attempt, no txn
            raise ExpectationFailed(
                f"fail expectation(s) {', '.join(violated)} violated in {batch_tag}; nothing committed",
                records,
            )
        lakehouse.append(outcome.quarantine, SILVER_QUARANTINE, txn=ctx.txn("quarantine"))
        lakehouse.append(
            outcome.valid.withColumn("_batch", F.lit(batch_tag)), SILVER_LISTINGS, txn=ctx.txn("silver")
        )
        if quality is not None:
            lakehouse.append(quality, DATA_QUALITY, txn=ctx.txn("data_quality"))
        return records
    finally:
        evaluated.unpersist()


def run_silver(
    spark: SparkSession,
    lakehouse: LakehouseResource,
    run_id: str | None = None,
    run_date: str | None = None,
) -> SilverReport:
    """Process every bronze row appended since the last run."""
    report = SilverReport()
    if not lakehouse.exists(spark, BRONZE_LISTINGS):
        return report

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        report.quality.extend(process_bronze_batch(spark, lakehouse, batch, ctx, run_id, run_date))

    run_available_now(
        lakehouse.read_stream(spark, BRONZE_LISTINGS),
        lakehouse.checkpoint("silver_listings"),
        handle,
        name="silver_listings",
    )
    return report
