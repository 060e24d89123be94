"""How the lakehouse writes a table: appends, atomic replacements, and the first write that creates it.

:class:`TableWrites` is a mixin of :class:`~airbnb_assets.platform.lakehouse.LakehouseResource`
(its resource fields and reads live there); every write is a Delta write with ``mergeSchema``,
idempotent when given a ``txn`` (``txnAppId`` / ``txnVersion``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
    from pyspark.sql.types import DataType, StructType

    from airbnb_assets.platform.tables import Table


def arrow_schema(schema: StructType) -> pa.Schema:
    """The Arrow schema of a declared Spark schema (timestamps in UTC; the types the tables use).

    Not ``pyspark.sql.pandas.types.to_arrow_schema``: its time-zone argument changed between Spark
    4.0 (the clusters: ``timestamp_utc``) and 4.2 (here: ``timezone``, required for timestamps).
    """
    import pyarrow as pa

    return pa.schema([pa.field(f.name, _arrow_type(f.dataType), f.nullable) for f in schema.fields])


def arrow_rows(rows: list[dict[str, Any]], table: Table) -> pa.Table:
    """``rows`` as an Arrow table of ``table``'s declared schema (naive datetimes are UTC)."""
    import pyarrow as pa

    if table.schema is None:
        raise ValueError(f"{table.name} has no declared schema ({table.columns_from})")
    return pa.Table.from_pylist(rows, schema=arrow_schema(table.schema))


def _arrow_type(spark_type: DataType) -> pa.DataType:
    import pyarrow as pa
    from pyspark.sql import types as T

    simple = {
        T.StringType: pa.string(),
        T.LongType: pa.int64(),
        T.IntegerType: pa.int32(),
        T.DoubleType: pa.float64(),
        T.BooleanType: pa.bool_(),
        T.DateType: pa.date32(),
        T.TimestampType: pa.timestamp("us", tz="UTC"),
    }
    if type(spark_type) in simple:
        return simple[type(spark_type)]
    if isinstance(spark_type, T.ArrayType):
        return pa.list_(pa.field("element", _arrow_type(spark_type.elementType), spark_type.containsNull))
    if isinstance(spark_type, T.StructType):
        return pa.struct(arrow_schema(spark_type))
    raise TypeError(f"no Arrow type declared for {spark_type.simpleString()}")


#: An unpartitioned table is compacted by the write that brings it to this many data files ...
COMPACT_MIN_FILES = 50
#: ... when they average under this size (Delta auto compaction's target file size).
SMALL_FILE_BYTES = 128 * 1024 * 1024


def sql_string(text: str) -> str:
    """``text`` as a single-quoted Spark SQL string literal (backslashes and quotes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal(value: Any) -> str:
    return f"DATE'{value.isoformat()}'" if hasattr(value, "isoformat") else sql_string(str(value))


#: A row filter ``(column, "=" | "!=" | "in", value)``; a list of them means all of them.
Filter = tuple[str, str, Any]


def condition_sql(filters: list[Filter], literal: Callable[[Any], str] = _literal) -> str:
    """The Spark SQL condition of ``filters`` (all of them), e.g. for ``replaceWhere``.

    ``literal`` writes a value in another dialect (delta-rs' predicates: ``record_writes``).
    """
    parts = []
    for column, op, value in filters:
        if op == "in":
            parts.append(f"{column} IN ({', '.join(literal(v) for v in value)})")
        elif op in ("=", "!="):
            parts.append(f"{column} {'=' if op == '=' else '<>'} {literal(value)}")
        else:
            raise ValueError(f"unsupported filter {op!r} on {column}: use '=', '!=' or 'in'")
    return " AND ".join(parts)


class TableWrites:
    """The write half of the lakehouse resource (a mixin: it adds methods, no fields)."""

    if TYPE_CHECKING:  # provided by LakehouseResource (see its docstrings)
        catalog: str | None
        external_tables: bool

        @property
        def session(self) -> SparkSession: ...  # noqa: D102
        def path(self, table: Table) -> str: ...  # noqa: D102
        def identifier(self, table: Table) -> str: ...  # noqa: D102
        def exists(self, table: Table) -> bool: ...  # noqa: D102
        def last_commit(self, table: Table) -> tuple[int, dict[str, Any]]: ...  # noqa: D102
        def file_stats(self, table: Table) -> tuple[int, int]: ...  # noqa: D102
        def delta(self, table: Table) -> DeltaTable: ...  # noqa: D102
        def matching_rows(self, table: Table, filters: list[Filter]) -> int | None: ...  # noqa: D102

    def create_frame(self, rows: list[dict[str, Any]], table: Table) -> DataFrame:
        """A DataFrame of ``rows`` with the table's declared schema, handed to Spark as an Arrow table.

        From Python rows Spark would pickle them through a Python worker process (in a fresh
        process, four small appends took 4.6-4.7 s that way and 3.1-3.3 s from Arrow); an Arrow
        table goes to the JVM directly. Naive datetimes are UTC (the product records ``now(UTC)``
        without its zone), whatever the process's local zone.
        """
        arrow = arrow_rows(rows, table)
        return self.session.createDataFrame(arrow, table.schema).coalesce(1)  # a few rows: one file

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

    def replace_rows(
        self, df: DataFrame, table: Table, filters: list[Filter], *, txn: tuple[str, int] | None = None
    ) -> None:
        """Atomically replace the rows matching ``filters`` with ``df``; every row of ``df`` must match.

        When no row matches (a day's first write, a table's first write), ``df`` is appended
        instead, checked row by row in the same job (a row that does not match fails the write,
        as ``replaceWhere``'s check does). Before a ``replaceWhere``, Delta rebuilds the table's
        file list from its log: a new day of 3,000 predictions took five Spark jobs and 0.85-1.19 s,
        appended one job and 0.28-0.49 s (local, medians of ten writes). Whether a row matches is
        read with delta-rs where the log is on this machine's disk; elsewhere ``replaceWhere`` runs.
        The count and the append are two steps: the writer lock of a local lakehouse (one writing
        run at a time, :class:`~airbnb_assets.platform.locks.WriterLock`) keeps another write out
        between them.
        """
        from pyspark.sql import functions as F

        condition = condition_sql(filters)
        counted = self.matching_rows(table, filters)  # None: elsewhere, or no table here
        if counted or (counted is None and self.exists(table)):
            self.replace_where(df, table, condition, txn=txn)
            return
        outside = F.raise_error(F.lit(f"a row outside replaceWhere ({condition}) of {table.name}"))
        self.append(df.where(F.when(F.expr(condition), F.lit(True)).otherwise(outside)), table, txn=txn)

    def replace_partition(self, df: DataFrame, table: Table, value: Any) -> None:
        """Atomically replace the table's partition ``value`` with ``df`` (a rerun replaces a day)."""
        if table.partition_by is None:
            raise ValueError(f"{table.name} is not partitioned")
        self.replace_rows(df, table, [(table.partition_by, "=", value)])

    def replace_partition_rows(self, df: DataFrame, table: Table, value: Any, where: list[Filter]) -> None:
        """Atomically replace the rows of partition ``value`` matching ``where`` with ``df``.

        Other rows of the partition stay (two assets share a day of a table); every row of ``df``
        must match.
        """
        if table.partition_by is None:
            raise ValueError(f"{table.name} is not partitioned")
        self.replace_rows(df, table, [(table.partition_by, "=", value), *where])

    def last_write_rows(self, table: Table) -> int | None:
        """Rows the table's latest commit wrote (its ``numOutputRows`` metric; ``None`` if not recorded)."""
        if not self.exists(table):
            return None
        value = self.last_commit(table)[1].get("numOutputRows")
        return int(value) if value is not None else None

    def compact_small_files(self, table: Table) -> bool:
        """``OPTIMIZE`` an unpartitioned table that holds :data:`COMPACT_MIN_FILES` small files.

        Called after every write. Delta's own auto compaction is off: it counts only the files
        this JVM wrote and compacts, on its first write, any table this JVM has not compacted yet,
        so a run in a fresh process (every Dagster run, every job cluster) rewrote every table it
        wrote. A partitioned table gets one file per partition and writer, and is left as it is.
        Returns whether it compacted.
        """
        if table.partition_by is not None:
            return False
        files, size = self.file_stats(table)
        if files < COMPACT_MIN_FILES or size >= files * SMALL_FILE_BYTES:
            return False
        self.delta(table).optimize().executeCompaction()  # an OPTIMIZE commit: dataChange=false
        return True

    def _save(self, writer: DataFrameWriter, table: Table) -> None:
        self._write(writer, table)
        self.compact_small_files(table)

    def _write(self, writer: DataFrameWriter, table: Table) -> None:
        if table.partition_by:
            writer = writer.partitionBy(table.partition_by)
        if not self.catalog:
            writer.save(self.path(table))
            return
        if not self.exists(table):  # the bootstrap could not declare it: the first write describes it
            writer = writer.option("comment", table.description)
            if self.external_tables:
                writer = writer.option("path", self.path(table))
        try:
            writer.saveAsTable(self.identifier(table))
        except Exception as exc:
            if "SCHEMA_NOT_FOUND" in str(exc):
                raise RuntimeError(
                    f"{self.identifier(table)}: schema {self.catalog}.{table.schema_name} does not exist; "
                    "run `airbnb bootstrap` (or the bootstrap job) first"
                ) from exc
            raise
