"""Dagster metadata shared by the assets: where a table lives, its size and version."""

from __future__ import annotations

from typing import Any

import dagster as dg

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import Table


def table_metadata(lakehouse: LakehouseResource, table: Table) -> dict[str, Any]:
    """Location, row count (``dagster/row_count``) and Delta version of a table."""
    meta: dict[str, Any] = {"table": dg.MetadataValue.text(lakehouse.identifier(table))}
    if not lakehouse.catalog:
        meta["path"] = dg.MetadataValue.path(lakehouse.path(table))
    facts = lakehouse.facts(table)  # from the Delta log: no scan, no Spark job for a local table
    if facts is not None:
        meta["dagster/row_count"] = facts.rows
        meta["delta_version"] = facts.version
    return meta


def metadata_value(metadata: Any, key: str, default: Any = None) -> Any:
    """The plain value stored under ``key`` in materialization metadata (``default`` if absent)."""
    item = metadata.get(key)
    return default if item is None else getattr(item, "value", item)


def _cell(value: Any) -> str | int | float | bool | None:
    """A table cell: numbers, booleans and ``None`` as they are, anything else as text."""
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _column_type(values: list[Any]) -> str:
    """The Dagster column type of a column's cells (``string`` when they are mixed)."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return "bool"
    if kinds and kinds <= {int}:
        return "int"
    if kinds and kinds <= {int, float}:
        return "float"
    return "string"


def records_table(rows: list[dict[str, Any]], columns: list[str]) -> dg.MetadataValue:
    """Records as a Dagster table (``MetadataValue.table``: sortable in the UI, typed columns)."""
    cells = [{c: _cell(r.get(c)) for c in columns} for r in rows]
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c, _column_type([row[c] for row in cells])) for c in columns]
    )
    return dg.MetadataValue.table(records=[dg.TableRecord(row) for row in cells], schema=schema)
