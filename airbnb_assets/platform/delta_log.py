"""Facts a Delta table's log already holds, read without Spark (``deltalake``, log only).

A table's version, its row count (the sum of the ``numRecords`` statistics of its files) and its
latest commit's metrics are in ``_delta_log``; reading them with delta-rs opens the log's JSON
and checkpoint files, no data file, and starts no Spark job. The cost grows with the number of
the table's files, not with its rows. :class:`~airbnb_assets.platform.lakehouse.LakehouseResource`
uses these for tables on this machine's disk and falls back to Spark elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LogFacts:
    """A table's latest version and row count.

    ``rows`` is ``None`` when the log cannot say exactly: a file without a ``numRecords`` statistic,
    or a table with deletion vectors.
    """

    version: int
    rows: int | None


def log_facts(path: str) -> LogFacts:
    """The version and row count of the Delta table at ``path``, from its log."""
    import pyarrow as pa
    from deltalake import DeltaTable

    table = DeltaTable(path)
    if "deletionVectors" in (table.protocol().reader_features or []):
        # A file's numRecords counts the rows its deletion vector removed: only a scan is exact.
        return LogFacts(version=int(table.version()), rows=None)
    actions = pa.table(table.get_add_actions(flatten=True))
    counts = actions.column("num_records") if "num_records" in actions.column_names else None
    rows = None
    if counts is not None and counts.null_count == 0:
        rows = int(pa.compute.sum(counts).as_py() or 0)
    elif actions.num_rows == 0:
        rows = 0
    return LogFacts(version=int(table.version()), rows=rows)


#: Commits read to find the latest write behind a compaction.
COMPACTION_LOOKBACK = 3


def latest_write(commits: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Newest-first commits → the newest version and the metrics of the newest non-OPTIMIZE commit."""
    write = next((c for c in commits if c.get("operation") != "OPTIMIZE"), {})
    return int(commits[0]["version"]), dict(write.get("operationMetrics") or {})


def last_commit(path: str) -> tuple[int, dict[str, Any]]:
    """The table at ``path``: its latest version and the ``operationMetrics`` of its latest write."""
    from deltalake import DeltaTable

    return latest_write(DeltaTable(path).history(COMPACTION_LOOKBACK))


def missing_files(path: str) -> list[str]:
    """Data files the table's latest version lists that are not on disk (a table on this machine)."""
    import os

    from deltalake import DeltaTable

    uris = DeltaTable(path).file_uris()
    return [u for u in uris if not os.path.exists(u.removeprefix("file://"))]
