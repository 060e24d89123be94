"""The lakehouse resource: where the catalogued tables live, and how they are read and written.

A :class:`~airbnb_assets.platform.tables.Table` named ``"<schema>/<table>"`` is, in path mode
(no ``catalog``), the path-based Delta table ``<root>/<schema>/<table>`` (``root`` is
``<lakehouse>/<env>``), so any Delta reader (deltalake, DuckDB, Spark) can open it.

In catalog mode (``catalog`` set) the same table is ``catalog.schema.table``: every read is
``spark.read.table``/``readStream.table``, every write ``saveAsTable`` (append with
``mergeSchema``; overwrite with ``replaceWhere`` replaces only the matching rows of the existing
table, keeping its columns' comments and partitioning) and ``DeltaTable.forName``. The schemas
must exist (``airbnb bootstrap``, :mod:`~airbnb_assets.platform.bootstrap`); a table the bootstrap
cannot declare (its columns come from a domain module) is created by its first write, with the
catalogue's description as its comment. On Unity Catalog tables are managed; with
``external_tables`` (the local catalog profile, :mod:`~airbnb_assets.platform.catalog`) they are
created at ``<root>/<schema>/<table>``.
Checkpoints and artefacts stay files under ``root`` (a Unity Catalog volume on Databricks).

The resource holds the environment's Spark resource, so code that reads or writes receives one
object; nothing else in the package builds a path or a name.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from airbnb_assets.platform.artifacts import ArtifactStore, is_machine_local
from airbnb_assets.platform.delta_log import (
    COMPACTION_LOOKBACK,
    LogFacts,
    last_commit,
    latest_write,
    log_facts,
)
from airbnb_assets.platform.locks import WriterLock
from airbnb_assets.platform.record_writes import RecordWrites
from airbnb_assets.platform.spark import SparkResource
from airbnb_assets.platform.tables import Table
from airbnb_assets.platform.writes import Filter

if TYPE_CHECKING:
    import pandas as pd
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession


class LakehouseResource(RecordWrites, dg.ConfigurableResource):
    """Where tables, checkpoints and artefacts of one environment live, and how to write them.

    ``platform`` says where the steps run: ``local`` (landed files read by the local Auto Loader
    emulation; no volumes) or ``databricks`` (the real ``cloudFiles`` source; landing and ``root``
    are Unity Catalog volumes). ``external_tables`` creates catalog tables at :meth:`path`.
    """

    root: str
    landing_path: str
    catalog: str | None = None
    spark: SparkResource
    platform: str = "local"
    external_tables: bool = False
    #: Hold an exclusive writer lock for each run (local lakehouses; Databricks jobs use the run queue).
    lock_runs: bool = True
    #: Read Delta logs of tables on this machine with delta-rs, without Spark (not on a cluster).
    delta_rs: bool = True
    _lock: WriterLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Take the writer lock for the run, then check the local tables' data files.

        Two runs never write the same lakehouse at once; the lock is only for a root on this
        machine's disk (a lock file on a volume or in cloud storage locks nothing). A table that
        lost data files stops the run (:func:`~airbnb_assets.platform.integrity.verify_tables`).
        """
        if self.lock_runs and is_machine_local(self.root):
            run_id = context.run_id or "?"
            self._lock = WriterLock(self.root)
            self._lock.acquire({"run_id": run_id})
        from airbnb_assets.platform.integrity import verify_tables

        try:
            verify_tables(self)  # a table that lost data files stops the run before any step
        except BaseException:
            self.teardown_after_execution(context)
            raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Release the writer lock at the end of the run."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def session(self) -> SparkSession:
        """The environment's SparkSession (started on first use)."""
        return self.spark.session

    @property
    def artifacts(self) -> ArtifactStore:
        """The store of non-table artefacts: drift reports, the dashboard, the alert log."""
        return ArtifactStore(root=f"{self.root.rstrip('/')}/_artifacts")

    def path(self, table: Table) -> str:
        """Storage path of a table in path mode, and of an external catalog table (``external_tables``)."""
        return f"{self.root.rstrip('/')}/{table.schema_name}/{table.table_name}"

    def identifier(self, table: Table) -> str:
        """SQL identifier: ``catalog.schema.table`` in catalog mode, ``delta.`path``` in path mode."""
        if self.catalog:
            return f"{self.catalog}.{table.schema_name}.{table.table_name}"
        return f"delta.`{self.path(table)}`"

    @property
    def readable_by_path(self) -> bool:
        """Whether every table is at :meth:`path` (path mode, or external catalog tables)."""
        return not self.catalog or self.external_tables

    def checkpoint(self, name: str) -> str:
        """Structured Streaming checkpoint folder for an incremental step."""
        return f"{self.root.rstrip('/')}/_checkpoints/{name}"

    def ensure_landing(self) -> None:
        """Create the landing folder if it is a local or volume path that does not exist yet.

        On Databricks the volume itself must exist (``airbnb bootstrap`` creates it); this creates
        the folder inside it.
        """
        if "://" not in self.landing_path:
            os.makedirs(self.landing_path, exist_ok=True)

    def exists(self, table: Table) -> bool:
        """Whether the table exists (has at least one commit).

        In catalog mode the catalog says. A table whose log is on this machine's disk is asked of
        its log with delta-rs: Spark's ``isDeltaTable`` loads the table's log into the JVM, wasted
        on a table this run then reads or writes with delta-rs (the ledger, the quality records,
        the drift rows). Elsewhere Spark's ``isDeltaTable``.
        """
        if self.catalog:
            return bool(self.session.catalog.tableExists(self.identifier(table)))
        local = self._local_log(table)
        if local is not None:
            from deltalake import DeltaTable as PathTable

            return bool(PathTable.is_deltatable(local))
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self.session, self.path(table)))

    def read(self, table: Table) -> DataFrame:
        """Batch-read the current version of a table."""
        if self.catalog:
            return self.session.read.table(self.identifier(table))
        return self.session.read.format("delta").load(self.path(table))

    def read_or_none(self, table: Table) -> DataFrame | None:
        """The table's current version, or ``None`` if it has not been created yet."""
        return self.read(table) if self.exists(table) else None

    def read_stream(self, table: Table, options: dict[str, str] | None = None) -> DataFrame:
        """Read a table as a stream of appended rows (for ``availableNow`` incremental steps).

        ``options`` are Delta source options, e.g. ``{"skipChangeCommits": "true"}`` to ignore
        commits that delete or update rows (a re-delivery) instead of failing the stream.
        """
        reader = self.session.readStream.options(**(options or {}))
        if self.catalog:
            return reader.table(self.identifier(table))
        return reader.format("delta").load(self.path(table))

    def delta(self, table: Table) -> DeltaTable:
        """The ``DeltaTable`` handle (history, MERGE, vacuum)."""
        from delta.tables import DeltaTable

        if self.catalog:
            return DeltaTable.forName(self.session, self.identifier(table))
        return DeltaTable.forPath(self.session, self.path(table))

    def _local_log(self, table: Table) -> str | None:
        """The table's path when its Delta log can be read without Spark (on this machine's disk)."""
        if not self.readable_by_path or not self.delta_rs:
            return None
        path = self.path(table)
        return path if is_machine_local(path) else None

    def local_table_path(self, table: Table) -> str | None:
        """The path of an existing table whose log is on this machine's disk (else ``None``)."""
        path = self._local_log(table)
        return path if path is not None and os.path.isdir(os.path.join(path, "_delta_log")) else None

    def facts(self, table: Table) -> LogFacts | None:
        """The table's version and row count from its Delta log (``None`` if it does not exist).

        On this machine's disk the log is read with delta-rs (no Spark job, no data file); elsewhere,
        and when the log cannot give an exact count, Spark counts.
        """
        local = self._local_log(table)
        if local is not None:
            if not os.path.isdir(os.path.join(local, "_delta_log")):
                return None
            facts = log_facts(local)
            if facts.rows is not None:
                return facts
            return LogFacts(facts.version, int(self.read(table).count()))
        if not self.exists(table):
            return None
        version = int(self.delta(table).history(1).collect()[0]["version"])
        return LogFacts(version, int(self.read(table).count()))

    def file_stats(self, table: Table) -> tuple[int, int]:
        """The number of data files of the table's current version and their total bytes.

        From the Delta log with delta-rs on this machine's disk (no Spark job); elsewhere from
        ``DESCRIBE DETAIL`` (the log's metadata, no data file read).
        """
        local = self.local_table_path(table)
        if local is not None:
            import pyarrow as pa
            from deltalake import DeltaTable as PathTable

            sizes = pa.table(PathTable(local).get_add_actions(flatten=True)).column("size_bytes")
            return len(sizes), int(pa.compute.sum(sizes).as_py() or 0)
        detail = self.delta(table).detail().select("numFiles", "sizeInBytes").first()
        return (int(detail[0] or 0), int(detail[1] or 0)) if detail is not None else (0, 0)

    def row_count(self, table: Table) -> int:
        """Rows of the table's current version (0 if it does not exist), from the log where it can."""
        facts = self.facts(table)
        return facts.rows or 0 if facts is not None else 0

    def to_pandas(self, table: Table, columns: list[str] | None = None) -> pd.DataFrame:
        """The table's current rows as pandas: without Spark when readable by path, else one Spark read."""
        if self.readable_by_path and self.delta_rs:
            from deltalake import DeltaTable as PathTable

            return PathTable(self.path(table)).to_pandas(columns=columns)
        frame = self.read(table)
        return (frame.select(*columns) if columns else frame).toPandas()

    def to_pandas_versioned(self, table: Table, columns: list[str] | None = None) -> tuple[pd.DataFrame, int]:
        """:meth:`to_pandas` and the table's version (which costs a history read where Spark reads)."""
        if self.readable_by_path and self.delta_rs:
            from deltalake import DeltaTable as PathTable

            delta = PathTable(self.path(table))
            return delta.to_pandas(columns=columns), int(delta.version())
        return self.to_pandas(table, columns), int(self.version(table) or 0)

    def local_filtered(self, table: Table, filters: list[Filter]) -> tuple[Any, Any] | None:
        """The table's delta-rs dataset and ``filters`` as a pyarrow expression (or ``None``).

        ``None`` unless its log is on this machine's disk and it has every filtered column.
        """
        local = self.local_table_path(table)
        if local is None:
            return None
        from deltalake import DeltaTable as PathTable
        from pyarrow import parquet

        dataset = PathTable(local).to_pyarrow_dataset()
        if any(column not in dataset.schema.names for column, _, _ in filters):
            return None
        return dataset, parquet.filters_to_expression(filters)

    def matching_rows(self, table: Table, filters: list[Filter]) -> int | None:
        """Rows matching every filter, counted with delta-rs where the log is on this machine's disk.

        Only the filtered columns of the files that may match are read. ``None`` where it cannot
        count without Spark (elsewhere, no table, a filtered column the table lacks).
        """
        found = self.local_filtered(table, filters)
        return None if found is None else int(found[0].count_rows(filter=found[1]))

    def grouped_counts(self, table: Table, by: str, where: list[Filter]) -> dict[Any, int]:
        """Rows per value of ``by`` among those matching every ``(column, "=" | "in", value)`` of ``where``.

        A table that does not exist, or lacks a column of ``where``, counts nothing. On this
        machine's disk the table is read with delta-rs (only ``by``'s column of the files whose
        statistics may match, no Spark job); elsewhere one Spark aggregate counts.
        """
        if self.local_table_path(table) is not None:
            found = self.local_filtered(table, where)
            if found is None:
                return {}
            rows = found[0].to_table(columns=[by], filter=found[1])
            counts = rows.group_by(by).aggregate([([], "count_all")])
            return dict(
                zip(counts.column(by).to_pylist(), counts.column("count_all").to_pylist(), strict=True)
            )
        frame = self.read_or_none(table)
        if frame is None or any(column not in frame.columns for column, _, _ in where):
            return {}
        return {r[0]: r[1] for r in self.filtered(frame, where).groupBy(by).count().collect()}

    @staticmethod
    def filtered(frame: DataFrame, where: list[Filter]) -> DataFrame:
        """``frame``'s rows matching every ``(column, "=" | "in", value)`` of ``where`` (Spark)."""
        from pyspark.sql import functions as F

        for column, op, value in where:
            frame = frame.filter(F.col(column).isin(list(value)) if op == "in" else F.col(column) == value)
        return frame

    def version(self, table: Table) -> int | None:
        """Latest committed version of the table, or ``None`` if it does not exist."""
        return self.last_commit(table)[0] if self.exists(table) else None

    def last_commit(self, table: Table) -> tuple[int, dict[str, Any]]:
        """The table's latest version, and the ``operationMetrics`` of its latest write.

        A compaction (``OPTIMIZE``) that followed the write is skipped for the metrics.
        """
        local = self._local_log(table)
        if local is not None:
            return last_commit(local)
        commits = [r.asDict() for r in self.delta(table).history(COMPACTION_LOOKBACK).collect()]
        return latest_write(commits)
