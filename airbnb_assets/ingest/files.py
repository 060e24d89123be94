"""Landed files: naming, and a cheap probe that decides how (or whether) a file can be read.

The probe reads a file twice, streaming in 1 MiB chunks: once to hash its bytes, and once,
decompressed, to check that a gzip is complete, detect the text encoding from the bytes (see
:mod:`~airbnb_assets.ingest.encoding`: a UTF-16/32 byte-order mark, strict UTF-8, else windows-1252
or Mac Roman by evidence) and read the header. Spark then parses the file with exactly that
encoding and header, so columns are mapped by name and no mojibake is added. A header holding
control characters (NUL: UTF-16 without a byte-order mark, a binary file) is rejected, so such
names never reach bronze's schema.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import os
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from airbnb_assets.ingest.encoding import PYTHON_CODECS, UTF8, EncodingSniffer

#: ``listings_YYYY-MM-DD.csv`` or ``.csv.gz``; an optional ``_suffix`` allows a re-delivery.
#: A snapshot's file name, matched whole (``fullmatch``) and in ASCII: a name ending in a newline
#: or written with fullwidth digits is not one.
FILE_NAME = re.compile(r"listings_(\d{4}-\d{2}-\d{2})(?:_[A-Za-z0-9-]+)?\.csv(?:\.gz)?", re.ASCII)
#: Spark's glob for candidate files in the landing zone.
FILE_GLOB = "listings_*.csv*"
#: Why a file whose name is not a snapshot name is ignored.
IGNORED_REASON = "file name does not match listings_YYYY-MM-DD[_suffix].csv[.gz]"
#: Why a file with no bytes at all cannot be ingested.
EMPTY_REASON = "empty file: no header and no rows"
#: The listing key: a header without it is not a comma-separated listings file, and nothing of such
#: a file reaches bronze (its one mangled header name would become a bronze column for good).
KEY_COLUMN = "id"
#: Why a file without the key column is refused.
NO_KEY_REASON = f"header has no {KEY_COLUMN!r} column: not a comma-separated listings file"
#: Separators other exports use instead of the comma.
_OTHER_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}
#: The first bytes of every gzip stream.
GZIP_MAGIC = b"\x1f\x8b"
_INVALID_NAME_CHARS = re.compile(r"[ ,;{}()\n\t=]+")
_CHUNK = 1 << 20


@dataclass
class FileProbe:
    """What the probe learned about one file; ``error`` says why it cannot be ingested.

    ``encoding`` is a Java charset name (what Spark is told); ``encoding_evidence`` says why.
    """

    path: str
    name: str
    snapshot_date: dt.date | None = None
    size_bytes: int = 0
    sha256: str = ""
    encoding: str = UTF8
    encoding_evidence: str = ""
    columns: list[str] = field(default_factory=list)
    error: str | None = None


def snapshot_date_of(name: str) -> dt.date | None:
    """The snapshot date encoded in a file name, or ``None`` if the name does not follow it."""
    match = FILE_NAME.fullmatch(name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def uri_path(uri: str) -> str:
    """The decoded path of a file URI, every character kept.

    ``urlparse`` silently drops tabs and newlines (a URL-sanitizing rule), which would turn
    a snapshot name followed by a newline into the snapshot's name and point at a file that does not exist.
    """
    scheme, sep, rest = uri.partition(":")
    if not sep or "/" in scheme:
        return uri
    if rest.startswith("//"):  # file:///x (empty authority) → /x
        rest = rest[2:]
        rest = rest[rest.index("/") :] if "/" in rest else ""
    return unquote(rest)


def local_path(uri: str) -> str:
    """A filesystem path for a Spark file URI (``file:/x`` → ``/x``; FUSE paths unchanged)."""
    scheme = urlparse(uri).scheme
    if scheme in ("", "file"):
        return uri_path(uri) if scheme else uri
    if scheme == "dbfs":
        return "/dbfs" + uri_path(uri)
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


def not_a_listings_header(header_line: str) -> str:
    """Why a header without an ``id`` column is refused, naming the separator it seems to use."""
    reason = NO_KEY_REASON
    commas = header_line.count(",")
    for sep, label in _OTHER_SEPARATORS.items():
        if header_line.count(sep) > max(commas, 2):
            return (
                f"{reason} (its header has {header_line.count(sep)} {label}s and {commas} commas: "
                f"a {label}-separated export? Re-export it with commas and land it again)"
            )
    return reason


def _sha256(path: str) -> tuple[str, int, bytes]:
    """Content hash, size and the first bytes (magic number) of a file."""
    digest, size, start = hashlib.sha256(), 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            start = start or chunk[:4]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, start


def control_characters(text: str) -> list[str]:
    """The control characters in ``text`` (NUL, other C0 and C1 codes; tab allowed), as ``U+XXXX``."""
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc" and c != "\t"})


@dataclass
class _Scan:
    """What one pass over the decompressed bytes saw."""

    head: bytes = b""
    head_text: str = ""
    has_rows: bool = False
    sniffer: EncodingSniffer | None = None


def _scan(path: str, compressed: bool) -> _Scan:
    """Stream the decompressed bytes once: sniff the encoding, keep the head, look for a data row."""
    scan = _Scan()
    lines: codecs.IncrementalDecoder | None = None
    with (gzip.open if compressed else open)(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if scan.sniffer is None:
                scan.sniffer = EncodingSniffer(chunk)
                # Newlines and blanks are single ASCII bytes in UTF-8 and in the single-byte
                # encodings (read byte-wise here); a UTF-16/32 file is read in its own encoding.
                bom = scan.sniffer.bom
                lines = codecs.getincrementaldecoder(PYTHON_CODECS[bom] if bom else "latin-1")("replace")
            scan.sniffer.feed(chunk)
            if not scan.has_rows and lines is not None:
                scan.head += chunk
                scan.head_text += lines.decode(chunk)
                _, newline, rest = scan.head_text.partition("\n")
                scan.has_rows = bool(newline) and rest.strip() != ""
    return scan


def probe_listed(uri: str, size: int) -> FileProbe:
    """What a listing alone says about a file, without opening it: a foreign name, or no bytes.

    The same verdicts as :func:`probe_file` for those two cases (``error`` set); any other file
    needs :func:`probe_file`.
    """
    name = uri_path(uri).rsplit("/", 1)[-1]
    probe = FileProbe(path=uri, name=name, snapshot_date=snapshot_date_of(name), size_bytes=size)
    if probe.snapshot_date is None:
        probe.error = IGNORED_REASON
    elif size == 0:
        probe.sha256, probe.error = hashlib.sha256(b"").hexdigest(), EMPTY_REASON
    return probe


def probe_file(uri: str) -> FileProbe:
    """Probe a landed file; never raises for bad content, it sets ``error`` instead.

    In order: the name (else the file is ignored), the bytes' hash, gzip content under a ``.csv``
    name, a complete gzip, an empty file, the encoding (:mod:`~airbnb_assets.ingest.encoding`), a
    header free of control characters with an ``id`` column, and at least one data row.
    """
    path = local_path(uri)
    name = Path(path).name
    probe = FileProbe(path=uri, name=name, snapshot_date=snapshot_date_of(name))
    if probe.snapshot_date is None:
        probe.size_bytes = os.path.getsize(path) if os.path.isfile(path) else 0
        probe.error = IGNORED_REASON
        return probe
    if not os.path.isfile(path):  # listed, then moved or deleted before it was read
        probe.error = "listed, but no longer in the landing zone when it was read (land it again)"
        return probe
    probe.sha256, probe.size_bytes, magic = _sha256(path)
    compressed = name.endswith(".gz")
    if not compressed and magic.startswith(GZIP_MAGIC):
        probe.error = "gzip content with a .csv name (rename it .csv.gz and land it again)"
        return probe
    try:
        scan = _scan(path, compressed)
    except (EOFError, OSError, zlib.error) as exc:
        probe.error = f"truncated or corrupt gzip: {exc}"
        return probe
    if scan.sniffer is None or not scan.head_text.strip():
        probe.error = EMPTY_REASON
        return probe
    encoding, probe.encoding_evidence = scan.sniffer.result()
    if encoding is None:
        probe.error = probe.encoding_evidence
        return probe
    probe.encoding = encoding
    text = scan.head.decode(PYTHON_CODECS[encoding], errors="replace")
    header_line = text.split("\n", 1)[0].rstrip("\r")
    codes = control_characters(header_line)
    if codes and codes != ["U+000D"]:
        probe.error = (
            f"header has control characters ({' '.join(codes[:5])}): not {encoding} text "
            "(UTF-16 without a byte-order mark, or a binary file?)"
        )
        return probe
    if codes:
        probe.error = "carriage return inside the header line: CR-only (classic Mac) line ends?"
        return probe
    try:
        raw = next(csv.reader([header_line]))
    except csv.Error as exc:
        probe.error = f"unreadable header: {exc}"
        return probe
    probe.columns = clean_column_names(raw)
    if KEY_COLUMN not in probe.columns:
        probe.error = not_a_listings_header(header_line)
        return probe
    if not scan.has_rows:
        probe.error = "header only: no data rows"
    return probe
