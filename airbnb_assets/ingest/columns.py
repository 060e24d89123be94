"""A landed header against the declared silver columns: what is new, what is missing, what was dropped.

Header names are compared after :data:`~airbnb_assets.silver.schema.HEADER_ALIASES` (a file whose
``neighbohhood`` header is an alias of ``neighbourhood`` lacks nothing). The ledger keeps, per file,

* ``new_columns``: header columns no declared silver column takes (bronze keeps them; silver
  ignores them until they are declared), and
* ``missing_columns``: declared silver columns absent from the header (silver fills them with
  nulls).

The snapshot formats differ (the summary files never had the detailed file's review scores), so a
missing column alone is not news. What is news is a declared column that the previous delivery
carried and this one does not (:func:`dropped_columns`): a column renamed or dropped at the source.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from airbnb_assets.silver.schema import HEADER_ALIASES, SILVER_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

DECLARED: tuple[str, ...] = tuple(c.name for c in SILVER_COLUMNS)


def declared_in(columns: list[str]) -> set[str]:
    """The declared silver columns a header provides (directly or through an alias)."""
    return {HEADER_ALIASES.get(c, c) for c in columns} & set(DECLARED)


def new_columns(columns: list[str]) -> list[str]:
    """Header columns that no declared silver column takes, in header order."""
    return [c for c in columns if HEADER_ALIASES.get(c, c) not in DECLARED]


def missing_columns(columns: list[str]) -> list[str]:
    """Declared silver columns the header does not provide, in declaration order."""
    present = declared_in(columns)
    return [c for c in DECLARED if c not in present]


def dropped_columns(files: list[dict[str, Any]], dates: list[dt.date]) -> list[dict[str, Any]]:
    """Per ingested file of a snapshot in ``dates``: its missing and new columns, and ``dropped``.

    ``files`` are ledger rows (``file_name``, ``snapshot_date``, ``status``, ``columns``);
    ``dropped`` lists the declared columns that the latest ingested file of an earlier snapshot
    provided and this file does not (empty for the first file ever).
    """
    ingested = sorted(
        (f for f in files if f["status"] == "ingested" and f["snapshot_date"] is not None),
        key=lambda f: (f["snapshot_date"], f["file_name"]),
    )
    out = []
    for f in ingested:
        if f["snapshot_date"] not in dates:
            continue
        columns = list(f["columns"] or [])
        earlier = [p for p in ingested if p["snapshot_date"] < f["snapshot_date"]]
        before = declared_in(list(earlier[-1]["columns"] or [])) if earlier else set()
        out.append(
            {
                "file_name": f["file_name"],
                "snapshot_date": str(f["snapshot_date"]),
                "previous_file": earlier[-1]["file_name"] if earlier else None,
                "dropped": [c for c in DECLARED if c in before - declared_in(columns)],
                "missing_columns": missing_columns(columns),
                "new_columns": new_columns(columns),
            }
        )
    return out


def column_report(ingested: pd.DataFrame | None, dates: list[dt.date]) -> list[dict[str, Any]]:
    """:func:`dropped_columns` for the snapshot dates a run processed.

    ``ingested`` is the ledger's ingested files (``file_name``, ``snapshot_date``, ``columns``, as
    :func:`~airbnb_assets.platform.snapshots.ledger_rows` reads them; ``None`` without a ledger).
    """
    if not dates or ingested is None:
        return []
    files = [
        {
            "file_name": name,
            "snapshot_date": date,
            "status": "ingested",
            "columns": None if c is None else list(c),
        }
        for name, date, c in zip(
            ingested["file_name"], ingested["snapshot_date"], ingested["columns"], strict=True
        )
    ]
    return dropped_columns(files, dates)
