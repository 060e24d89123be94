"""Before a run: every table on this machine's disk still has the data files its log lists.

A ``part-*.parquet`` deleted by hand (or lost with a disk) leaves a table whose log still counts
its rows; Spark fails only when a query reaches the file, and an incremental step may not read it
for days. :func:`verify_tables` reads each table's log (delta-rs, no Spark, no data file) and
stops the run with the table, the missing files and the fix. Tables in cloud storage or a catalog
are not checked here (their storage does not lose single files; ``FSCK REPAIR TABLE`` is the
Databricks tool).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airbnb_assets.platform.delta_log import missing_files
from airbnb_assets.platform.tables import TABLES

if TYPE_CHECKING:
    from airbnb_assets.platform.lakehouse import LakehouseResource
    from airbnb_assets.platform.tables import Table


class MissingDataFiles(RuntimeError):
    """A table's latest version lists data files that are gone."""


def missing_in(lakehouse: LakehouseResource, table: Table) -> list[str]:
    """The data files ``table``'s latest version lists that are not on disk (``[]``: not checkable)."""
    path = lakehouse.local_table_path(table)
    return missing_files(path) if path is not None else []


def verify_tables(lakehouse: LakehouseResource) -> None:
    """Raise :class:`MissingDataFiles` naming every local table that lost data files, with the fix."""
    problems = [(t, files) for t in TABLES if (files := missing_in(lakehouse, t))]
    if not problems:
        return
    lines = [
        f"{t.name} ({lakehouse.path(t)}): {len(files)} data file(s) of its latest version are gone, "
        f"e.g. {files[0]}"
        for t, files in problems
    ]
    raise MissingDataFiles(
        "; ".join(lines) + ". Restore the files from backup, or roll the table back to a version "
        "that does not list them (`DESCRIBE HISTORY delta.`<path>``, then `RESTORE TABLE "
        "delta.`<path>` TO VERSION AS OF <n>`) and rerun; nothing was run."
    )
