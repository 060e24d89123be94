"""The landing zone simulator: land snapshot files as daily arrivals, in date order.

Files are copied under a temporary name and renamed, so ingestion never sees half a file. Only
regular files with a snapshot's name are landed: a symbolic link (it could point anywhere, such
as ``/etc/passwd``), a folder or a device named like a snapshot, and a name with control
characters are skipped, and :func:`skipped` says which and why.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import unicodedata
from pathlib import Path

from airbnb_assets.ingest.files import IGNORED_REASON, snapshot_date_of


class LandingError(OSError):
    """A file could not be copied into the landing zone (nothing of it is left there)."""


def skip_reason(path: Path) -> str | None:
    """Why ``path`` is not landed (``None``: it is a snapshot file to land)."""
    if any(unicodedata.category(c) == "Cc" for c in path.name):
        return "control characters in the file name"
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link: only regular files are landed"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if snapshot_date_of(path.name) is None:
        return IGNORED_REASON
    return None


def snapshots(source: str | Path) -> list[tuple[dt.date, Path]]:
    """Regular files named ``listings_YYYY-MM-DD[_suffix].csv[.gz]`` in ``source``, oldest first."""
    found = []
    for path in Path(source).iterdir():
        date = snapshot_date_of(path.name)
        if date is not None and skip_reason(path) is None:
            found.append((date, path))
    return sorted(found)


def skipped(source: str | Path) -> list[tuple[str, str]]:
    """``(name, reason)`` of every entry of ``source`` named like a snapshot that is not landed.

    "Named like a snapshot": starting with ``listings`` once Unicode-normalized, so a fullwidth
    ``ｌｉｓｔｉｎｇｓ`` or a name with spaces or accents is reported, a README is not.
    """
    out = []
    for path in sorted(Path(source).iterdir()):
        looks_like = unicodedata.normalize("NFKC", path.name).lower().startswith("listings")
        if looks_like and (reason := skip_reason(path)) is not None:
            out.append((path.name, reason))
    return out


def landed(landing: str | Path) -> set[str]:
    """Names of the files already in the landing zone."""
    folder = Path(landing)
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


def pending(source: str | Path, landing: str | Path) -> list[tuple[dt.date, Path]]:
    """Snapshots of ``source`` not yet in the landing zone, oldest first."""
    done = landed(landing)
    return [(d, p) for d, p in snapshots(source) if p.name not in done]


def land_file(path: Path, landing: str | Path) -> Path:
    """Copy one regular file into the landing zone atomically; return its landed path.

    Raises :class:`LandingError` for a file that is not landed (see :func:`skip_reason`) or that
    cannot be copied (a full disk): the partial copy is removed.
    """
    reason = skip_reason(path)
    if reason is not None and reason != IGNORED_REASON:
        raise LandingError(f"not landing {path.name!r}: {reason}")
    folder = Path(landing)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    tmp = folder / f".{path.name}.tmp"
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LandingError(f"could not land {path.name} into {folder}: {exc.strerror or exc}") from exc
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
