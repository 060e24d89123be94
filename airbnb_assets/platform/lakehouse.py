"""The lakehouse resource: where the catalogued tables live, and how they are read and written.

A :class:`~airbnb_assets.platform.tables.Table` named ``"<schema>/<table>"`` is, locally, the
path-based Delta table ``<root>/<schema>/<table>`` (``root`` is ``<lakehouse>/<env>``), so any
Delta reader (deltalake, DuckDB, Spark) can open it. With a Unity Catalog ``catalog`` the same
table is ``catalog.schema.table``. The resource holds the environment's Spark resource, so code
that reads or writes receives one object; nothing else in the package builds a path or a name.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from airbnb_assets.platform.artifacts import ArtifactStore
from airbnb_assets.platform.locks import WriterLock
from airbnb_assets.platform.spark import SparkResource
from airbnb_assets.platform.tables import Table

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession


class LakehouseResource(dg.ConfigurableResource):
    """Where tables, checkpoints and artefacts of one environment live, and how to write them."""

    root: str
    landing_path: str
    catalog: str | None = None
    spark: SparkResource
    #: Hold an exclusive writer lock for each run (local lakehouses; Databricks jobs use the run queue).
    lock_runs: bool = True
    _lock: WriterLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Take the writer lock for the run: two runs never write the same lakehouse at once."""
        if self.lock_runs and "://" not in self.root:
            run_id = context.run_id or "?"
            self._lock = WriterLock(self.root)
            self._lock.acquire({"run_id": run_id})

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
        """Storage path of a table (path-based Delta; also the UC external location)."""
        return f"{self.root.rstrip('/')}/{table.schema_name}/{table.table_name}"

    def identifier(self, table: Table) -> str:
        """SQL identifier: ``catalog.schema.table`` on Unity Catalog, ``delta.`path``` locally."""
        if self.catalog:
            return f"{self.catalog}.{table.schema_name}.{table.table_name}"
        return f"delta.`{self.path(table)}`"

    def checkpoint(self, name: str) -> str:
        """Structured Streaming checkpoint folder for an incremental step."""
        return f"{self.root.rstrip('/')}/_checkpoints/{name}"

    def ensure_landing(self) -> None:
        """Create the landing folder if it is a local or volume path that does not exist yet."""
        if "://" not in self.landing_path:
            os.makedirs(self.landing_path, exist_ok=True)

    def exists(self, table: Table) -> bool:
        """Whether the table exists (has at least one commit)."""
        if self.catalog:
            return bool(self.session.catalog.tableExists(self.identifier(table)))
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

    def version(self, table: Table) -> int | None:
        """Latest committed version of the table, or ``None`` if it does not exist."""
        if not self.exists(table):
            return None
        return int(self.delta(table).history(1).collect()[0]["version"])

    def create_frame(self, rows: list[dict[str, Any]], table: Table) -> DataFrame:
        """A DataFrame of ``rows`` with the table's declared schema."""
        if table.schema is None:
            raise ValueError(f"{table.name} has no declared schema ({table.columns_from})")
        return self.session.createDataFrame(rows, table.schema)

    def append(self, df: DataFrame, table: Table, *, txn: tuple[str, int] | None = None) -> None:
        """Append rows, adding new columns (``mergeSchema``).

        ``txn=(app_id, version)`` makes the write idempotent: Delta skips a write whose version
        it has already committed for that app id (safe retries of a streaming micro-batch).
        """
        writer = df.write.format("delta").mode("append").option("mergeSchema", "true")
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
        self._save(writer, table)

    def replace_where(
        self, df: DataFrame, table: Table, condition: str, *, txn: tuple[str, int] | None = None
    ) -> None:
        """Atomically replace the rows matching the SQL ``condition`` with ``df`` (``replaceWhere``).

        Every row of ``df`` must match ``condition``. ``txn`` makes it idempotent, as in :meth:`append`.
        """
        writer = (
            df.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", condition)
            .option("mergeSchema", "true")
        )
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
        self._save(writer, table)

    def replace_partition(self, df: DataFrame, table: Table, value: Any) -> None:
        """Atomically replace the table's partition ``value`` with ``df`` (a rerun replaces a day)."""
        if table.partition_by is None:
            raise ValueError(f"{table.name} is not partitioned")
        literal = f"DATE'{value.isoformat()}'" if hasattr(value, "isoformat") else f"'{value}'"
        writer = (
            df.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"{table.partition_by} = {literal}")
            .option("mergeSchema", "true")
        )
        self._save(writer, table)

    def _save(self, writer: DataFrameWriter, table: Table) -> None:
        if table.partition_by:
            writer = writer.partitionBy(table.partition_by)
        if self.catalog:
            writer.saveAsTable(self.identifier(table))
        else:
            writer.save(self.path(table))
