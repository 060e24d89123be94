"""Writes of a few rows given as Python records (the ledger, quality records, drift rows).

Where a table's log is on this machine's disk, delta-rs commits them without a Spark job; elsewhere
(Databricks), and for a table's first write, Spark writes them as :class:`TableWrites` does. In a
new process, Spark's idempotent write rebuilds the table's state before it commits (open-source
Delta reads a table's transactions only that way): about 1.6 s for the ledger's few rows after
bronze's append (figure 1 of ``benchmarks/RESULTS.md``).

Idempotence is the protocol's: a ``txn=(app_id, version)`` becomes the commit's app transaction
(the ``txn`` action Spark's ``txnAppId`` / ``txnVersion`` write too), and a version already
committed for that app id, by either writer, is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airbnb_assets.platform.writes import Filter, TableWrites, arrow_rows, condition_sql

if TYPE_CHECKING:
    import pyarrow as pa

    from airbnb_assets.platform.tables import Table


def _matches(row: dict[str, Any], filters: list[Filter]) -> bool:
    """Whether ``row`` satisfies every filter (``=``, ``!=``, ``in``)."""
    for column, op, value in filters:
        got = row.get(column)
        if (op == "=" and got != value) or (op == "!=" and got == value) or (op == "in" and got not in value):
            return False
    return True


def _literal(value: Any) -> str:
    """A DataFusion SQL string literal (quotes doubled); dates as ``'YYYY-MM-DD'``."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text.replace("'", "''") + "'"


def predicate_sql(filters: list[Filter]) -> str:
    """The delta-rs (DataFusion SQL) predicate of ``filters``: ``=``, ``!=`` and ``in`` on literals."""
    return condition_sql(filters, _literal)


class RecordWrites(TableWrites):
    """Record writes of the lakehouse resource (a mixin over :class:`TableWrites`: methods, no fields)."""

    if TYPE_CHECKING:  # provided by LakehouseResource

        def local_table_path(self, table: Table) -> str | None: ...  # noqa: D102

    def append_rows(
        self, rows: list[dict[str, Any]], table: Table, *, txn: tuple[str, int] | None = None
    ) -> None:
        """Append ``rows`` (records with the table's declared columns), as :meth:`append` does."""
        local = self.local_table_path(table)
        if local is None:
            self.append(self.create_frame(rows, table), table, txn=txn)
            return
        if self._committed(local, txn):
            return
        self._commit(local, arrow_rows(rows, table), txn)
        self.compact_small_files(table)

    def replace_partition_records(
        self,
        rows: list[dict[str, Any]],
        table: Table,
        value: Any,
        where: list[Filter],
        *,
        txn: tuple[str, int] | None = None,
    ) -> None:
        """Atomically replace the rows of partition ``value`` matching ``where`` with ``rows``.

        As :meth:`replace_partition_rows`: other rows of the partition stay, and a row that does not
        match fails the write (before anything is committed).
        """
        if table.partition_by is None:
            raise ValueError(f"{table.name} is not partitioned")
        filters = [(table.partition_by, "=", value), *where]
        local = self.local_table_path(table)
        if local is None:
            self.replace_rows(self.create_frame(rows, table), table, filters, txn=txn)
            return
        outside = [r for r in rows if not _matches(r, filters)]
        if outside:
            raise ValueError(f"a row outside {predicate_sql(filters)} of {table.name}: {outside[0]}")
        if not self._committed(local, txn):
            self._commit(local, arrow_rows(rows, table), txn, predicate_sql(filters))

    @staticmethod
    def _committed(local: str, txn: tuple[str, int] | None) -> bool:
        """Whether ``txn``'s version (or a later one) of its app id is committed to the table."""
        from deltalake import DeltaTable as PathTable

        if txn is None:
            return False
        committed = PathTable(local).transaction_version(txn[0])
        return committed is not None and committed >= txn[1]

    @staticmethod
    def _commit(
        local: str, data: pa.Table, txn: tuple[str, int] | None, predicate: str | None = None
    ) -> None:
        """Commit ``data`` with delta-rs: an append, or with ``predicate`` a replacement of its rows."""
        from deltalake import CommitProperties, Transaction, write_deltalake

        properties = CommitProperties(app_transactions=[Transaction(*txn)]) if txn else None
        if predicate is None:
            write_deltalake(local, data, mode="append", schema_mode="merge", commit_properties=properties)
        else:
            write_deltalake(
                local,
                data,
                mode="overwrite",
                predicate=predicate,
                schema_mode="merge",
                commit_properties=properties,
            )
