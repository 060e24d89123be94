"""What an operator does with a file a ``fail`` rule held: release it or reject it.

A held file's rows wait in ``silver/listings_quarantine`` with ``_held = true`` (see
:mod:`airbnb_assets.silver.step`). ``airbnb release FILE`` and ``airbnb reject FILE`` call
:func:`release` and :func:`reject` under the lakehouse writer lock:

* **release** re-evaluates the held rows as any file within its thresholds: rows failing a
  ``drop`` or ``fail`` rule stay in the quarantine with the rule names, the rest go to silver (gold
  picks them up on its next run). A release replaces the file's snapshot date like a re-delivery
  (:mod:`airbnb_assets.silver.redelivery`). The released ``_held`` rows are removed from the
  quarantine, so bronze = silver + quarantine rows per snapshot still holds.
* **reject** keeps the rows in the quarantine, no longer held, with the reason
  ``rejected by operator: ...``.

Both append a row to ``ops/landing_files`` (status ``released`` / ``rejected``). Every append
carries an idempotent ``txn`` and the final update or delete is idempotent by its condition, so a
command that was interrupted can simply be run again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from airbnb_assets.platform.incremental import BatchContext
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.snapshots import INGESTED, ledger_rows
from airbnb_assets.platform.tables import DATA_QUALITY, SILVER, SILVER_QUARANTINE
from airbnb_assets.silver.quality import HELD, REASON, evaluate, file_name, rank_duplicates, split
from airbnb_assets.silver.redelivery import (
    SourceFile,
    apply_redelivery,
    note_in_ledger,
    plan_redelivery,
)
from airbnb_assets.silver.step import BATCH_CACHE, existing_keys

#: Quarantine-only columns: dropped to turn held rows back into parsed rows.
_QUARANTINE_ONLY = ("_failed_rules", REASON, HELD, "_processed_at", "_batch")


class NothingHeld(LookupError):
    """The file has no held rows (never held, already released or rejected, or superseded)."""


@dataclass(frozen=True)
class Outcome:
    """What a release or a reject did to one file."""

    file_name: str
    action: str
    rows: int
    to_silver: int = 0
    reason: str = ""

    def line(self) -> str:
        """One line for the operator."""
        if self.action == "rejected":
            return (
                f"rejected {self.file_name}: {self.rows} rows stay in silver/listings_quarantine, "
                f"no longer held ({self.reason})"
            )
        kept = self.rows - self.to_silver
        return (
            f"released {self.file_name}: {self.to_silver} of {self.rows} rows to silver/listings, "
            f"{kept} kept in silver/listings_quarantine (failed rules); gold takes them on the next run"
        )


def held_rows(lakehouse: LakehouseResource, name: str) -> DataFrame:
    """The held quarantine rows of the file called ``name`` (or :class:`NothingHeld`)."""
    quarantine = lakehouse.read_or_none(SILVER_QUARANTINE)
    if quarantine is None or HELD not in quarantine.columns:
        raise NothingHeld(f"nothing is held: {SILVER_QUARANTINE.name} has no held rows")
    rows = quarantine.filter(F.coalesce(F.col(HELD), F.lit(False)) & (file_name("_source_file") == name))
    if rows.isEmpty():
        held = sorted(
            {
                r[0]
                for r in quarantine.filter(F.coalesce(F.col(HELD), F.lit(False)))
                .select(file_name("_source_file"))
                .collect()
            }
        )
        raise NothingHeld(
            f"{name} has no held rows (held files: {', '.join(held) or 'none'}; see ops/landing_files)"
        )
    return rows


def _held_condition(path: str) -> Column:
    return F.coalesce(F.col(HELD), F.lit(False)) & (F.col("_source_file") == path)


def release(lakehouse: LakehouseResource, name: str, run_date: str | None = None) -> Outcome:
    """Commit a held file: rows failing a fail or drop rule stay quarantined, the rest go to silver."""
    rows = held_rows(lakehouse, name).persist(BATCH_CACHE)
    try:
        first = rows.select("_source_file", "snapshot_date", "_ingested_at").first()
        assert first is not None  # held_rows raised otherwise
        path, date = first["_source_file"], first["snapshot_date"]
        ctx = BatchContext(stream_id=f"release:{name}", batch_id=0)
        tag = ctx.stream_id
        ingested = ledger_rows(lakehouse, INGESTED, ["file_path"])
        plan = plan_redelivery(lakehouse, [SourceFile(date, path, first["_ingested_at"])], ingested)
        parsed = rows.drop(*[c for c in _QUARANTINE_ONLY if c in rows.columns])
        ranked = rank_duplicates(parsed, existing_keys(lakehouse, [date], tag, plan.in_silver))
        evaluated = evaluate(ranked).withColumn("_processed_at", F.current_timestamp()).persist(BATCH_CACHE)
        try:
            outcome = split(evaluated)
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            records = [
                {**c.asDict(), "run_date": run_date, "batch": tag, "committed": True, "evaluated_at": now}
                for c in outcome.counts.collect()
            ]
            total = rows.count()
            to_silver = outcome.valid.count()
            apply_redelivery(lakehouse, plan, ctx, run_date)
            lakehouse.append(outcome.quarantine, SILVER_QUARANTINE, txn=ctx.txn("quarantine"))
            lakehouse.append(outcome.valid.withColumn("_batch", F.lit(tag)), SILVER, txn=ctx.txn("silver"))
            lakehouse.append_rows(records, DATA_QUALITY, txn=ctx.txn("dq"))
            reason = f"released by operator: {to_silver} of {total} rows to silver"
            note_in_ledger(lakehouse, {path: (date, reason)}, "released", run_date, txn=ctx.txn("released"))
            lakehouse.delta(SILVER_QUARANTINE).delete(_held_condition(path))
        finally:
            evaluated.unpersist()
    finally:
        rows.unpersist()
    return Outcome(name, "released", total, to_silver)


def reject(
    lakehouse: LakehouseResource, name: str, note: str | None = None, run_date: str | None = None
) -> Outcome:
    """Keep a held file out of silver for good: its rows stay quarantined, no longer held."""
    rows = held_rows(lakehouse, name)
    first = rows.select("_source_file", "snapshot_date", REASON).first()
    assert first is not None  # held_rows raised otherwise
    path, date = first["_source_file"], first["snapshot_date"]
    total = rows.count()
    reason = f"rejected by operator: {note or first[REASON]}"
    ctx = BatchContext(stream_id=f"reject:{name}", batch_id=0)
    note_in_ledger(lakehouse, {path: (date, reason)}, "rejected", run_date, txn=ctx.txn("rejected"))
    lakehouse.delta(SILVER_QUARANTINE).update(
        condition=_held_condition(path), set={HELD: F.lit(False), REASON: F.lit(reason)}
    )
    return Outcome(name, "rejected", total, reason=reason)
