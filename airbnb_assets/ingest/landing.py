"""The landing zone simulator: land snapshot files as daily arrivals, in date order.

Files are copied under a temporary name and renamed, so ingestion never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from airbnb_assets.ingest.files import FILE_NAME, snapshot_date_of


def snapshots(source: str | Path) -> list[tuple[dt.date, Path]]:
    """Files named ``listings_YYYY-MM-DD.csv[.gz]`` in ``source``, oldest first."""
    found = []
    for path in Path(source).iterdir():
        date = snapshot_date_of(path.name) if FILE_NAME.match(path.name) else None
        if date is not None and path.is_file():
            found.append((date, path))
    return sorted(found)


def landed(landing: str | Path) -> set[str]:
    """Names of the files already in the landing zone."""
    folder = Path(landing)
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


def pending(source: str | Path, landing: str | Path) -> list[tuple[dt.date, Path]]:
    """Snapshots of ``source`` not yet in the landing zone, oldest first."""
    done = landed(landing)
    return [(d, p) for d, p in snapshots(source) if p.name not in done]


def land_file(path: Path, landing: str | Path) -> Path:
    """Copy one file into the landing zone atomically; return its landed path."""
    folder = Path(landing)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    tmp = folder / f".{path.name}.tmp"
    shutil.copyfile(path, tmp)
    os.replace(tmp, target)
    return target


def land(
    source: str | Path,
    landing: str | Path,
    *,
    until: dt.date | None = None,
    all_files: bool = False,
) -> list[Path]:
    """Land the next pending snapshot, every one up to ``until``, or all of them."""
    todo = pending(source, landing)
    if until is not None:
        todo = [(d, p) for d, p in todo if d <= until]
    elif not all_files:
        todo = todo[:1]
    return [land_file(p, landing) for _, p in todo]


def reset(landing: str | Path) -> int:
    """Remove every landed file; return how many were removed (ingested data is untouched)."""
    folder = Path(landing)
    if not folder.exists():
        return 0
    files = [p for p in folder.iterdir() if p.is_file()]
    for p in files:
        p.unlink()
    return len(files)
