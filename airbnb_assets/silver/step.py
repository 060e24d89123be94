"""The incremental silver step: new bronze rows → silver, quarantine and ``ops/data_quality``.

Bronze is read as a Delta stream (``availableNow``), so each run processes exactly the rows
appended since the last one, like a DLT streaming table. Writes are idempotent per micro-batch.

Each source file of a batch is judged on its own: rows failing a ``drop`` rule, or a ``fail``
rule within its threshold, are quarantined with the rule names; a file a ``fail`` rule *holds*
goes to the quarantine whole, with ``_held = true``, and waits for ``airbnb release`` or
``airbnb reject`` (:mod:`airbnb_assets.silver.held`). The other files commit and the checkpoint
advances, so a held file never blocks the next one. A later file for a snapshot date already in
silver replaces it (:mod:`airbnb_assets.silver.redelivery`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark import StorageLevel
from pyspark.sql import functions as F

from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.snapshots import INGESTED, ledger_rows
from airbnb_assets.platform.tables import BRONZE, DATA_QUALITY, SILVER, SILVER_QUARANTINE
from airbnb_assets.silver.parse import parse_bronze
from airbnb_assets.silver.quality import (
    HELD,
    KEY,
    REASON,
    evaluate,
    fail_rule_counts,
    hold_of,
    rank_duplicates,
    split,
)
from airbnb_assets.silver.redelivery import (
    Redelivery,
    SourceFile,
    apply_redelivery,
    plan_redelivery,
    reason_for,
)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column, DataFrame

#: The ledger columns a silver step uses: the re-delivery plan's and the column check's.
LEDGER_COLUMNS = ["file_path", "file_name", "columns"]
#: Where a batch's parsed and judged rows are cached between the step's passes: on local disk, not
#: in the JVM heap. Each row carries its raw values as JSON for the quarantine (``_bronze_record``,
#: 385 of the 537 MB of parsed rows of a 1M-row day), and the two caches in memory drove the local
#: 4 GB heap to its limit: that day peaked at 5.57 GB, and 4.12 GB with the caches on disk, in the
#: same time (``make bench --only 2``; benchmarks/RESULTS.md).
BATCH_CACHE = StorageLevel.DISK_ONLY


@dataclass
class SilverReport:
    """Counts of one silver run: per (snapshot date, file, rule) rows of ``ops/data_quality``."""

    quality: list[dict[str, Any]] = field(default_factory=list)
    #: Files held by a fail rule in this run → the hold reason.
    held: dict[str, str] = field(default_factory=dict)
    #: Files replaced by a re-delivery in this run → the file replacing them.
    superseded: dict[str, str] = field(default_factory=dict)
    _ingested: pd.DataFrame | None = field(default=None, repr=False)
    _ledger_read: bool = field(default=False, repr=False)

    def ingested(self, lakehouse: LakehouseResource) -> pd.DataFrame | None:
        """The ledger's ingested files (``None``: no ledger), read at the first call of the step.

        Bronze records every file before silver runs, and silver adds only other statuses, so one
        read serves each batch's re-delivery plan and the column check.
        """
        if not self._ledger_read:
            self._ingested = ledger_rows(lakehouse, INGESTED, LEDGER_COLUMNS)
            self._ledger_read = True
        return self._ingested

    def failed(self, rule: str) -> int:
        """Rows that failed ``rule`` in this run."""
        return sum(r["failed_rows"] for r in self.quality if r["rule"] == rule)

    def _per_file(self, column: str) -> int:
        keyed = {(r["batch"], r["snapshot_date"], r.get("source_file")): r[column] for r in self.quality}
        return sum(keyed.values())

    @property
    def evaluated(self) -> int:
        """Bronze rows evaluated in this run."""
        return self._per_file("total_rows")

    @property
    def quarantined(self) -> int:
        """Rows this run sent to quarantine (held files included)."""
        return self._per_file("quarantined_rows")

    @property
    def snapshot_dates(self) -> list[dt.date]:
        """Snapshot dates touched by this run."""
        return sorted({r["snapshot_date"] for r in self.quality})


def existing_keys(
    lakehouse: LakehouseResource, dates: list[dt.date], batch_tag: str, replaced: Iterable[str] = ()
) -> DataFrame | None:
    """Keys already in silver for ``dates``, except this batch's rows and ``replaced`` files' rows."""
    if not dates or not lakehouse.exists(SILVER):
        return None
    silver = lakehouse.read(SILVER).filter(
        F.col("snapshot_date").isin(dates) & (F.col("_batch") != batch_tag)
    )
    replaced = list(replaced)
    if replaced:
        silver = silver.filter(~F.col("_source_file").isin(replaced))
    return silver.select(*KEY)


def _preset(files: dict[str, str]) -> Column:
    """A literal per source file (its hold or supersession reason), NULL for other files."""
    if not files:
        return F.lit(None).cast("string")
    items = list(files.items())
    column = F.when(F.col("_source_file") == items[0][0], F.lit(items[0][1]))
    for path, reason in items[1:]:
        column = column.when(F.col("_source_file") == path, F.lit(reason))
    return column


def survey(parsed: DataFrame) -> tuple[list[SourceFile], dict[str, str]]:
    """One pass over a batch: its source files (date, ingestion time) and the files a fail rule holds."""
    rows = (
        parsed.withColumn("_duplicate_rank", F.lit(1))  # a file is judged on its own rows
        .groupBy("snapshot_date", "_source_file")
        .agg(F.max("_ingested_at").alias("_at"), *fail_rule_counts())
        .collect()
    )
    files = [SourceFile(r["snapshot_date"], r["_source_file"], r["_at"]) for r in rows]
    return files, {r["_source_file"]: reason for r in rows if (reason := hold_of(r))}


def judge(
    lakehouse: LakehouseResource,
    parsed: DataFrame,
    dates: list[dt.date],
    batch_tag: str,
    holds: dict[str, str],
    plan: Redelivery,
) -> DataFrame:
    """Rank and evaluate parsed rows; rows of held and superseded files carry their preset reason.

    Only the rows that may reach silver are ranked for duplicates (against silver, without the
    files this batch replaces); the preset rows are evaluated for the record and quarantined whole.
    """
    preset = {**holds, **{f: reason_for(w) for f, w in plan.in_batch.items()}}
    marked = parsed.withColumn(REASON, _preset(preset)).withColumn(
        HELD, F.col("_source_file").isin(list(holds)) if holds else F.lit(False)
    )
    known = existing_keys(lakehouse, dates, batch_tag, plan.in_silver)
    candidates = rank_duplicates(marked.filter(F.col(REASON).isNull()), known)
    others = marked.filter(F.col(REASON).isNotNull()).withColumn("_duplicate_rank", F.lit(1))
    return evaluate(candidates.unionByName(others)).withColumn("_processed_at", F.current_timestamp())


def process_bronze_batch(
    lakehouse: LakehouseResource,
    bronze_rows: DataFrame,
    ctx: BatchContext,
    run_id: str | None = None,
    run_date: str | None = None,
    report: SilverReport | None = None,
) -> list[dict[str, Any]]:
    """Parse, check and write one batch of bronze rows; return its data-quality records."""
    batch_tag = f"{ctx.stream_id}:{ctx.batch_id}"
    parsed = parse_bronze(bronze_rows).persist(BATCH_CACHE)
    try:
        files, holds = survey(parsed)
        report = report if report is not None else SilverReport()
        plan = plan_redelivery(lakehouse, files, report.ingested(lakehouse), holds)
        holds = {f: r for f, r in holds.items() if f not in plan.in_batch}  # superseded, not held
        dates = sorted({f.snapshot_date for f in files})
        evaluated = judge(lakehouse, parsed, dates, batch_tag, holds, plan).persist(BATCH_CACHE)
        try:
            outcome = split(evaluated)
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            records = [
                {
                    **c.asDict(),
                    "run_id": run_id,
                    "run_date": run_date,
                    "batch": batch_tag,
                    "committed": c["source_file"] not in holds,
                    "evaluated_at": now,
                }
                for c in outcome.counts.collect()
            ]
            apply_redelivery(lakehouse, plan, ctx, run_date)
            lakehouse.append(outcome.quarantine, SILVER_QUARANTINE, txn=ctx.txn("quarantine"))
            lakehouse.append(
                outcome.valid.withColumn("_batch", F.lit(batch_tag)), SILVER, txn=ctx.txn("silver")
            )
            if records:
                lakehouse.append_rows(records, DATA_QUALITY, txn=ctx.txn("data_quality"))
        finally:
            evaluated.unpersist()
    finally:
        parsed.unpersist()
    report.held.update(holds)
    report.superseded.update(plan.superseded)
    return records


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
        report.quality.extend(process_bronze_batch(lakehouse, batch, ctx, run_id, run_date, report))

    run_available_now(
        lakehouse.read_stream(BRONZE),
        lakehouse.checkpoint("silver_listings"),
        handle,
        name="silver_listings",
    )
    return report


def held_now(lakehouse: LakehouseResource) -> dict[str, int]:
    """Files whose rows are held in the quarantine right now → held rows (waiting for an operator)."""
    return lakehouse.grouped_counts(SILVER_QUARANTINE, "_source_file", [(HELD, "=", True)])
