"""The lakehouse resource: maps logical table names to storage, and reads and writes Delta.

A logical name is ``"<schema>/<table>"`` (for example ``"silver/listings"``). Locally it is the
path-based Delta table ``<root>/<schema>/<table>``, where ``root`` is ``<lakehouse>/<env>``, so any
Delta reader (deltalake, DuckDB, Spark) can open it. With a Unity Catalog ``catalog`` the same name
is the table ``catalog.schema.table``. Nothing else in the package builds a path or a table name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession

BRONZE_LISTINGS = "bronze/listings"
LANDING_FILES = "ops/landing_files"
SILVER_LISTINGS = "silver/listings"
SILVER_QUARANTINE = "silver/listings_quarantine"
DATA_QUALITY = "ops/data_quality"
GOLD_FEATURES = "gold/listing_features"
PREDICTIONS = "gold/price_predictions"
PREDICTIONS_QUARANTINE = "gold/price_predictions_quarantine"
DRIFT_METRICS = "monitoring/drift_metrics"


def split_name(table: str) -> tuple[str, str]:
    """Split ``"schema/table"`` into its two parts, rejecting anything else."""
    parts = table.split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"table names look like 'schema/table', got {table!r}")
    return parts[0], parts[1]


class LakehouseResource(dg.ConfigurableResource):
    """Where tables, checkpoints and artefacts of one environment live, and how to write them."""

    root: str
    landing_path: str
    catalog: str | None = None

    def path(self, table: str) -> str:
        """Storage path of a logical table (path-based Delta; also the UC external location)."""
        schema, name = split_name(table)
        return f"{self.root.rstrip('/')}/{schema}/{name}"

    def identifier(self, table: str) -> str:
        """SQL identifier: ``catalog.schema.table`` on Unity Catalog, ``delta.`path``` locally."""
        schema, name = split_name(table)
        return f"{self.catalog}.{schema}.{name}" if self.catalog else f"delta.`{self.path(table)}`"

    def checkpoint(self, name: str) -> str:
        """Structured Streaming checkpoint folder for an incremental step."""
        return f"{self.root.rstrip('/')}/_checkpoints/{name}"

    def artifacts(self, name: str) -> str:
        """Folder for non-table artefacts (reports, models, dashboards)."""
        return f"{self.root.rstrip('/')}/_artifacts/{name}"

    def ensure_landing(self) -> None:
        """Create the landing folder if it is a local or volume path that does not exist yet."""
        if "://" not in self.landing_path:
            os.makedirs(self.landing_path, exist_ok=True)

    def exists(self, spark: SparkSession, table: str) -> bool:
        """Whether the table exists (has at least one commit)."""
        if self.catalog:
            return bool(spark.catalog.tableExists(self.identifier(table)))
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(spark, self.path(table)))

    def read(self, spark: SparkSession, table: str) -> DataFrame:
        """Batch-read the current version of a table."""
        if self.catalog:
            return spark.read.table(self.identifier(table))
        return spark.read.format("delta").load(self.path(table))

    def read_or_none(self, spark: SparkSession, table: str) -> DataFrame | None:
        """The table's current version, or ``None`` if it has not been created yet."""
        return self.read(spark, table) if self.exists(spark, table) else None

    def read_stream(self, spark: SparkSession, table: str) -> DataFrame:
        """Read a table as a stream of appended rows (for ``availableNow`` incremental steps)."""
        if self.catalog:
            return spark.readStream.table(self.identifier(table))
        return spark.readStream.format("delta").load(self.path(table))

    def delta(self, spark: SparkSession, table: str) -> DeltaTable:
        """The ``DeltaTable`` handle (history, MERGE, vacuum)."""
        from delta.tables import DeltaTable

        if self.catalog:
            return DeltaTable.forName(spark, self.identifier(table))
        return DeltaTable.forPath(spark, self.path(table))

    def version(self, spark: SparkSession, table: str) -> int | None:
        """Latest committed version of the table, or ``None`` if it does not exist."""
        if not self.exists(spark, table):
            return None
        return int(self.delta(spark, table).history(1).collect()[0]["version"])

    def append(
        self,
        df: DataFrame,
        table: str,
        *,
        txn: tuple[str, int] | None = None,
        partition_by: Sequence[str] = (),
    ) -> None:
        """Append rows, adding new columns (``mergeSchema``).

        ``txn=(app_id, version)`` makes the write idempotent: Delta skips a write whose version
        it has already committed for that app id (safe retries of a streaming micro-batch).
        """
        writer = df.write.format("delta").mode("append").option("mergeSchema", "true")
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
        self._save(writer, table, partition_by)

    def replace_where(
        self, df: DataFrame, table: str, condition: str, *, partition_by: Sequence[str] = ()
    ) -> None:
        """Atomically replace the rows matching ``condition`` with ``df`` (a rerun replaces a day)."""
        writer = (
            df.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", condition)
            .option("mergeSchema", "true")
        )
        self._save(writer, table, partition_by)

    def _save(self, writer: DataFrameWriter, table: str, partition_by: Sequence[str]) -> None:
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        if self.catalog:
            writer.saveAsTable(self.identifier(table))
        else:
            writer.save(self.path(table))
