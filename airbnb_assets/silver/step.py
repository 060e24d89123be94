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

from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, DATA_QUALITY, SILVER, SILVER_QUARANTINE
from airbnb_assets.silver.parse import parse_bronze
from airbnb_assets.silver.quality import KEY, ExpectationFailed, evaluate, rank_duplicates, split

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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


def _existing_keys(lakehouse: LakehouseResource, batch_tag: str, dates: list[dt.date]) -> DataFrame | None:
    if not dates or not lakehouse.exists(SILVER):
        return None
    silver = lakehouse.read(SILVER)
    return silver.filter(F.col("snapshot_date").isin(dates) & (F.col("_batch") != batch_tag)).select(*KEY)


def process_bronze_batch(
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
    ranked = rank_duplicates(parsed, _existing_keys(lakehouse, batch_tag, dates))
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
        quality = lakehouse.create_frame(records, DATA_QUALITY) if records else None
        if violated:
            if quality is not None:
                lakehouse.append(quality, DATA_QUALITY)  # record the failed attempt, no txn
            raise ExpectationFailed(
                f"fail expectation(s) {', '.join(violated)} violated in {batch_tag}; nothing committed",
                records,
            )
        lakehouse.append(outcome.quarantine, SILVER_QUARANTINE, txn=ctx.txn("quarantine"))
        lakehouse.append(outcome.valid.withColumn("_batch", F.lit(batch_tag)), SILVER, txn=ctx.txn("silver"))
        if quality is not None:
            lakehouse.append(quality, DATA_QUALITY, txn=ctx.txn("data_quality"))
        return records
    finally:
        evaluated.unpersist()


def run_silver(
    lakehouse: LakehouseResource,
    run_id: str | None = None,
    run_date: str | None = None,
) -> SilverReport:
    """Process every bronze row appended since the last run."""
    report = SilverReport()
    if not lakehouse.exists(BRONZE):
        return report

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        report.quality.extend(process_bronze_batch(lakehouse, batch, ctx, run_id, run_date))

    run_available_now(
        lakehouse.read_stream(BRONZE),
        lakehouse.checkpoint("silver_listings"),
        handle,
        name="silver_listings",
    )
    return report
