"""Samples of the real snapshot files: a file's header and first records, under the same name.

The smoke run of the benchmarks and the tests that need a real day but not all of its rows land
these; the landing zone and the whole pipeline treat a sample as the snapshot itself. (Kept apart
from :mod:`benchmarks.synth`, whose source is part of the prepared states' cache key.)
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path


def head_records(source: Path, target: Path, rows: int) -> Path:
    """Write ``source``'s header and first ``rows`` CSV records (quoted newlines kept) to ``target``.

    Bytes that are not UTF-8 pass through unchanged. Written whole or not at all (through a
    partial file).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with gzip.open(source, "rt", encoding="utf-8", errors="surrogateescape", newline="") as src:
        reader = csv.reader(src)
        with gzip.open(partial, "wt", encoding="utf-8", errors="surrogateescape", newline="") as out:
            writer = csv.writer(out)
            for index, record in enumerate(reader):
                if index > rows:
                    break
                writer.writerow(record)
    partial.replace(target)
    return target
