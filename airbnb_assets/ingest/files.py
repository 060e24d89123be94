"""Landed files: naming, and a cheap probe that decides how (or whether) a file can be read.

The probe reads a file twice, streaming in 1 MiB chunks: once to hash its bytes, and once,
decompressed, to check that a gzip is complete, detect the text encoding (UTF-8, else the declared
fallback, Mac Roman, used by the spreadsheet-resaved snapshots) and read the header. Spark then
parses the file with exactly that encoding and header, so columns are mapped by name and no
mojibake is added.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

#: ``listings_YYYY-MM-DD.csv`` or ``.csv.gz``; an optional ``_suffix`` allows a re-delivery.
FILE_NAME = re.compile(r"^listings_(\d{4}-\d{2}-\d{2})(?:_[A-Za-z0-9-]+)?\.csv(?:\.gz)?$")
#: Spark's glob for candidate files in the landing zone.
FILE_GLOB = "listings_*.csv*"
#: Encoding assumed when a file is not valid UTF-8 (Python codec name, Java charset name).
FALLBACK_ENCODING = ("mac_roman", "x-MacRoman")
_INVALID_NAME_CHARS = re.compile(r"[ ,;{}()\n\t=]+")
_CHUNK = 1 << 20


@dataclass
class FileProbe:
    """What the probe learned about one file; ``error`` says why it cannot be ingested."""

    path: str
    name: str
    snapshot_date: dt.date | None = None
    size_bytes: int = 0
    sha256: str = ""
    encoding: str = "UTF-8"
    columns: list[str] = field(default_factory=list)
    error: str | None = None


def snapshot_date_of(name: str) -> dt.date | None:
    """The snapshot date encoded in a file name, or ``None`` if the name does not follow it."""
    match = FILE_NAME.match(name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def local_path(uri: str) -> str:
    """A filesystem path for a Spark file URI (``file:/x`` → ``/x``; FUSE paths unchanged)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else uri
    if parsed.scheme == "dbfs":
        return "/dbfs" + unquote(parsed.path)
    raise ValueError(f"cannot open {uri!r} from Python; land files in a local or /Volumes path")


def clean_column_names(raw: list[str]) -> list[str]:
    """Header names made safe for Delta: trimmed, no BOM, no forbidden characters, unique."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(raw):
        clean = _INVALID_NAME_CHARS.sub("_", name.replace("\ufeff", "").strip()).strip("_")
        clean = clean or f"_c{i}"
        if clean.lower() in seen:
            seen[clean.lower()] += 1
            clean = f"{clean}_{seen[clean.lower()]}"
        else:
            seen[clean.lower()] = 0
        out.append(clean)
    return out


def _sha256(path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def probe_file(uri: str) -> FileProbe:
    """Probe a landed file; never raises for bad content, it sets ``error`` instead."""
    path = local_path(uri)
    name = Path(path).name
    probe = FileProbe(path=uri, name=name, snapshot_date=snapshot_date_of(name))
    if probe.snapshot_date is None:
        probe.error = "file name does not match listings_YYYY-MM-DD[_suffix].csv[.gz]"
        return probe
    probe.sha256, probe.size_bytes = _sha256(path)
    opener = gzip.open if name.endswith(".gz") else open
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, head, has_rows, total = True, b"", False, 0
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if is_utf8:
                    try:
                        utf8.decode(chunk)
                    except UnicodeDecodeError:
                        is_utf8 = False
                if b"\n" not in head:
                    head += chunk
                    has_rows = b"\n" in head and head.split(b"\n", 1)[1].strip() != b""
                elif not has_rows:
                    has_rows = chunk.strip() != b""
            if is_utf8:
                utf8.decode(b"", final=True)
    except (EOFError, OSError, zlib.error) as exc:
        probe.error = f"truncated or corrupt gzip: {exc}"
        return probe
    except UnicodeDecodeError:
        is_utf8 = False
    if total == 0 or not head.strip():
        probe.error = "empty file: no header and no rows"
        return probe
    codec, probe.encoding = ("utf-8-sig", "UTF-8") if is_utf8 else FALLBACK_ENCODING
    header_line = head.split(b"\n", 1)[0].decode(codec, errors="replace").rstrip("\r")
    try:
        probe.columns = clean_column_names(next(csv.reader([header_line])))
    except csv.Error as exc:
        probe.error = f"unreadable header: {exc}"
        return probe
    if not has_rows:
        probe.error = "header only: no data rows"
    return probe
