"""The newest snapshot of a table up to a day, found without scanning the table's history.

The ledger ``ops/landing_files`` (one row per landed file and status change, so small) names every
snapshot date a file was ingested for. Its dates up to the day are tried newest first; each is
confirmed with a ``filter(snapshot_date == d).limit(1)`` query, which Delta answers from the files
whose ``snapshot_date`` min/max statistics contain ``d`` (the column is among the first 32, so it
has statistics). A date whose file was held or rejected by a fail rule, or whose rows are all
filtered out by ``where`` (no price), is not in the table and is skipped; a re-delivery (``_v2``)
keeps its snapshot date, so its date is tried once.

Without a ledger (a table written by hand) the lookup falls back to ``max(snapshot_date)``, as it
does when no ledger date is confirmed, so the answer is always that of the full scan.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyspark.sql import functions as F

from airbnb_assets.platform.tables import LANDING_FILES, Table

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from airbnb_assets.platform.lakehouse import LakehouseResource

#: Ledger statuses of a file whose rows went (or may have gone) to the tables.
INGESTED = "ingested"
#: The ledger status of a file replaced by a re-delivery (its silver rows moved to quarantine).
SUPERSEDED = "superseded"


def as_date(value: Any) -> dt.date:
    """A date column's value as a :class:`datetime.date` (delta-rs and Spark give a date or a timestamp)."""
    return value.date() if isinstance(value, dt.datetime) else value


def ledger_rows(lakehouse: LakehouseResource, status: str, columns: list[str]) -> pd.DataFrame | None:
    """The ledger's rows with ``status``: ``columns`` and ``snapshot_date`` (as dates); ``None``: no ledger.

    The ledger is small, so it is read whole as pandas: from its Delta log and files without Spark
    on this machine's disk (:meth:`~airbnb_assets.platform.lakehouse.LakehouseResource.to_pandas`),
    with one Spark read elsewhere.
    """
    if not lakehouse.exists(LANDING_FILES):
        return None
    ledger = lakehouse.to_pandas(LANDING_FILES, sorted({*columns, "snapshot_date", "status"}))
    rows = ledger.loc[ledger["status"] == status].copy()
    rows["snapshot_date"] = pd.Series(
        [None if pd.isna(d) else as_date(d) for d in rows["snapshot_date"]], index=rows.index, dtype=object
    )
    return rows


def _ledger_dates(lakehouse: LakehouseResource, status: str) -> set[dt.date] | None:
    """Snapshot dates of the ledger's rows with ``status`` (``None``: no ledger)."""
    rows = ledger_rows(lakehouse, status, [])
    return None if rows is None else set(rows["snapshot_date"].dropna())


def candidate_dates(lakehouse: LakehouseResource, day: dt.date) -> list[dt.date] | None:
    """Snapshot dates up to ``day`` the ledger saw ingested, newest first (``None``: no ledger)."""
    dates = _ledger_dates(lakehouse, INGESTED)
    return None if dates is None else sorted((d for d in dates if d <= day), reverse=True)


def superseded_dates(lakehouse: LakehouseResource) -> list[dt.date] | None:
    """Snapshot dates of which a file was superseded, oldest first (``None``: no ledger).

    A supersession is the only deletion from silver, so these are the only dates that can vanish
    from it (when the re-delivery brought no valid row).
    """
    dates = _ledger_dates(lakehouse, SUPERSEDED)
    return None if dates is None else sorted(dates)


def has_snapshot(table: DataFrame, date: dt.date, where: Column | None = None) -> bool:
    """Whether ``table`` has a row of snapshot ``date`` (matching ``where``); reads one row at most."""
    condition = F.col("snapshot_date") == F.lit(date)
    if where is not None:
        condition = condition & where
    return bool(table.filter(condition).limit(1).collect())


def max_snapshot(table: DataFrame, day: dt.date, where: Column | None = None) -> dt.date | None:
    """``max(snapshot_date)`` of the rows up to ``day`` (matching ``where``): the full-scan answer."""
    condition = F.col("snapshot_date") <= F.lit(day)
    if where is not None:
        condition = condition & where
    value = table.filter(condition).agg(F.max("snapshot_date")).collect()[0][0]
    return value if isinstance(value, dt.date) else None


def latest_snapshot(
    lakehouse: LakehouseResource,
    table: DataFrame,
    day: dt.date,
    where: Column | None = None,
    *,
    source: Table | None = None,
) -> dt.date | None:
    """The newest snapshot date up to ``day`` with rows in ``table`` (matching ``where``), or ``None``.

    ``table`` is a read of a table with a ``snapshot_date`` column (gold). The ledger's dates are
    confirmed newest first (:func:`has_snapshot`); see the module docstring. Given the table
    ``table`` reads as ``source`` and no ``where``, a date is confirmed with delta-rs where the
    table is on this machine's disk (its ``snapshot_date`` column only, no Spark job).
    """
    candidates = candidate_dates(lakehouse, day)
    for date in candidates or []:
        counted = None
        if source is not None and where is None:
            counted = lakehouse.matching_rows(source, [("snapshot_date", "=", date)])
        found = counted > 0 if counted is not None else has_snapshot(table, date, where)
        if found:
            return date
    return max_snapshot(table, day, where)
