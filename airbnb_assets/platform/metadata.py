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


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> dg.MetadataValue:
    """Render records as a Markdown table for the Dagster UI."""
    if not rows:
        return dg.MetadataValue.md("_none_")
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |\n" for r in rows)
    return dg.MetadataValue.md(head + body)
