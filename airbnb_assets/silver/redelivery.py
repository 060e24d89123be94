"""Re-deliveries: a later file for a snapshot date replaces that snapshot in silver.

When a batch brings rows of snapshot date D from a file other than the one(s) that already hold
D, the newest file *wins* D (files of one batch are ordered by ingestion time, then name):

* silver rows of D from other files move to ``silver/listings_quarantine`` with
  ``_quarantine_reason = "superseded by <file>"`` and are deleted from silver;
* rows of D still held (``_held``) from another file are un-held with the same reason;
* earlier files of D in the same batch go to the quarantine with that reason instead of silver;
* ``ops/landing_files`` gets a row with status ``superseded`` for each replaced file.

A held file never wins (it replaces D only when released), and nothing is deleted without being
appended to the quarantine first, so bronze rows = silver + quarantine rows per snapshot still
holds. Every append carries an idempotent ``txn``; the delete and the update are idempotent by
their conditions, so a retried batch doubles nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from airbnb_assets.platform.snapshots import SUPERSEDED
from airbnb_assets.platform.tables import LANDING_FILES, SILVER, SILVER_QUARANTINE, Table
from airbnb_assets.silver.quality import HELD, REASON

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column

    from airbnb_assets.platform.incremental import BatchContext
    from airbnb_assets.platform.lakehouse import LakehouseResource


@dataclass(frozen=True)
class SourceFile:
    """One source file of a batch: its snapshot date, path and (latest) bronze ingestion time."""

    snapshot_date: dt.date
    path: str
    ingested_at: dt.datetime | None = None

    @property
    def order(self) -> tuple[dt.datetime, str]:
        """Sort key: later ingestion (then a later name) wins a snapshot date."""
        return (self.ingested_at or dt.datetime.min, self.path)


@dataclass
class Redelivery:
    """The files a batch (or a release) supersedes, each mapped to the file that replaces it."""

    in_batch: dict[str, str] = field(default_factory=dict)
    in_silver: dict[str, str] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    dates: dict[str, dt.date] = field(default_factory=dict)

    @property
    def superseded(self) -> dict[str, str]:
        """Every superseded file → the file replacing it."""
        return {**self.in_batch, **self.in_silver, **self.held}


def name_of(path: str) -> str:
    """The file name of a source path (``file:/x/listings_2020-01-24.csv`` → the last segment)."""
    return path.rsplit("/", 1)[-1]


def reason_for(winner: str) -> str:
    """The quarantine reason of rows replaced by ``winner``."""
    return f"superseded by {name_of(winner)}"


def plan_redelivery(
    lakehouse: LakehouseResource,
    files: list[SourceFile],
    ingested: pd.DataFrame | None,
    holds: dict[str, str] | None = None,
) -> Redelivery:
    """Which files the batch's ``files`` supersede (``holds``: files held in this batch, never winners).

    ``ingested`` is the ledger's ingested files (:func:`~airbnb_assets.platform.snapshots.ledger_rows`
    with ``file_path``; ``None`` without a ledger).
    """
    holds = holds or {}
    plan = Redelivery()
    winners: dict[dt.date, str] = {}
    by_date: dict[dt.date, list[SourceFile]] = defaultdict(list)
    for f in files:
        by_date[f.snapshot_date].append(f)
    for date, group in by_date.items():
        group.sort(key=lambda f: f.order)
        clean = [f for f in group if f.path not in holds]
        if not clean:
            continue
        winner = clean[-1]
        winners[date] = winner.path
        for f in group[: group.index(winner)]:  # earlier files; held files after the winner stay held
            plan.in_batch[f.path] = winner.path
            plan.dates[f.path] = date
    present = {f.path for f in files}
    if winners and not _only_these_ingested(ingested, winners, present):
        plan.in_silver = _other_files(lakehouse, SILVER, winners, present, plan.dates)
        plan.held = _other_files(lakehouse, SILVER_QUARANTINE, winners, present, plan.dates, held_only=True)
    return plan


def _only_these_ingested(
    ingested: pd.DataFrame | None, winners: dict[dt.date, str], present: set[str]
) -> bool:
    """Whether the ledger shows no file but ``present`` ever ingested for a winner's date.

    Every row of silver and of its quarantine comes from a bronze file, and bronze records each
    file it ingests in ``ops/landing_files`` in the same micro-batch (retried whole). So when the
    ledger holds no other ingested file of those dates, neither table can hold rows of another
    file of them: the usual day (a new snapshot date) is planned from the small ledger, without
    the two scans of silver and its quarantine. Without a ledger, the scans decide.
    """
    if ingested is None:
        return False
    pairs = zip(ingested["file_path"], ingested["snapshot_date"], strict=True)
    return all(path in present for path, day in pairs if day in winners)


def _other_files(
    lakehouse: LakehouseResource,
    table: Table,
    winners: dict[dt.date, str],
    present: set[str],
    dates: dict[str, dt.date],
    held_only: bool = False,
) -> dict[str, str]:
    df = lakehouse.read_or_none(table)
    if df is None or (held_only and HELD not in df.columns):
        return {}
    df = df.filter(F.col("snapshot_date").isin(list(winners)))
    if held_only:
        df = df.filter(F.coalesce(F.col(HELD), F.lit(False)))
    others = {}
    for date, path in df.select("snapshot_date", "_source_file").distinct().collect():
        if path not in present:
            others[path] = winners[date]
            dates[path] = date
    return others


def files_condition(files: dict[str, Any], dates: dict[str, dt.date]) -> Column:
    """Rows of the given source files (and their snapshot dates)."""
    parts = [(F.col("_source_file") == f) & (F.col("snapshot_date") == F.lit(dates[f])) for f in files]
    return reduce(lambda a, b: a | b, parts)


def reason_column(superseded: dict[str, str]) -> Column:
    """``superseded by <winner>`` for the rows of each superseded file."""
    cases = [(F.col("_source_file") == f, F.lit(reason_for(w))) for f, w in superseded.items()]
    column = F.when(*cases[0])
    for condition, value in cases[1:]:
        column = column.when(condition, value)
    return column


def note_in_ledger(
    lakehouse: LakehouseResource,
    notes: dict[str, tuple[dt.date | None, str]],
    status: str,
    run_date: str | None,
    txn: tuple[str, int],
) -> None:
    """Append a row with ``status`` to ``ops/landing_files`` for each file (path → (date, reason)).

    Each row repeats the file's ``ingested`` ledger row (so columns the ledger adds later are
    carried over) with the new status, reason, run date and time.
    """
    if not notes:
        return
    existing: dict[str, dict[str, Any]] = {}
    if lakehouse.exists(LANDING_FILES):
        rows = (
            lakehouse.read(LANDING_FILES)
            .filter(F.col("file_path").isin(list(notes)) & (F.col("status") == "ingested"))
            .collect()
        )
        existing = {r["file_path"]: r.asDict() for r in rows}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    records = []
    for path, (date, reason) in sorted(notes.items()):
        base = existing.get(path) or {"file_path": path, "file_name": name_of(path), "snapshot_date": date}
        records.append(
            {
                **base,
                "status": status,
                "reason": reason,
                "run_date": run_date,
                "batch_id": None,
                "recorded_at": now,
            }
        )
    lakehouse.append_rows(records, LANDING_FILES, txn=txn)


def apply_redelivery(
    lakehouse: LakehouseResource, plan: Redelivery, ctx: BatchContext, run_date: str | None = None
) -> None:
    """Record the superseded files, move their silver rows to quarantine and un-hold their held rows.

    Rows of ``plan.in_batch`` are not touched here: the caller quarantines them with the batch.
    """
    superseded = plan.superseded
    if not superseded:
        return
    notes = {f: (plan.dates.get(f), reason_for(w)) for f, w in superseded.items()}
    note_in_ledger(lakehouse, notes, SUPERSEDED, run_date, txn=ctx.txn("ledger"))
    if plan.in_silver:
        where = files_condition(plan.in_silver, plan.dates)
        moved = (
            lakehouse.read(SILVER)
            .filter(where)
            .drop("_batch")
            .withColumn("_failed_rules", F.array().cast("array<string>"))
            .withColumn(REASON, reason_column(plan.in_silver))
            .withColumn(HELD, F.lit(False))
        )
        lakehouse.append(moved, SILVER_QUARANTINE, txn=ctx.txn("superseded"))
        lakehouse.delta(SILVER).delete(where)
    if plan.held:
        where = files_condition(plan.held, plan.dates) & F.coalesce(F.col(HELD), F.lit(False))
        lakehouse.delta(SILVER_QUARANTINE).update(
            condition=where, set={HELD: F.lit(False), REASON: reason_column(plan.held)}
        )
