"""Synthetic snapshot days built from a real Inside Airbnb file, for the benchmarks.

A synthetic day is ``n`` rows drawn (with replacement, fixed seed) from a real snapshot of
``airbnb_assets/data/airbnb_sf/``, with the same header, so the landing zone and the whole pipeline
treat it as a real arrival. Each row gets a new listing id -- unique within the day and across days
of different ``seed`` -- written as a 19-digit *string* (ids never pass through a float), and its
latitude/longitude are jittered by about 100 m. Everything else (prices, rooms, neighbourhoods,
reviews) keeps the real values and their joint distribution. The file is written as
``listings_YYYY-MM-DD.csv.gz``, the name the landing zone accepts.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from airbnb_assets.environments import SNAPSHOTS_DIR

#: The real snapshot synthetic days are drawn from: summary format, unmodified, UTF-8 (see the README).
SOURCE = SNAPSHOTS_DIR / "listings_2017-04-02.csv.gz"
#: Synthetic ids start here: 19 digits, far above every real id, below 2**63 (Spark reads a long).
ID_BASE = 9_000_000_000_000_000_000
#: Ids of one seed live in their own block of this size, so days of different seeds never share one.
SEED_BLOCK = 10_000_000_000
#: Standard deviation of the coordinate jitter, in degrees (about 100 m).
JITTER_DEGREES = 0.001


def read_source(source: Path = SOURCE) -> pd.DataFrame:
    """The real snapshot as strings exactly as written (no type guessing, empty fields stay empty)."""
    return pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")


def synth_frame(rows: int, seed: int, source: pd.DataFrame | None = None) -> pd.DataFrame:
    """``rows`` synthetic listings (strings, the source's columns): new unique ids, jittered coordinates."""
    if not 0 <= seed < (2**63 - 1 - ID_BASE) // SEED_BLOCK or rows > SEED_BLOCK:
        raise ValueError(f"seed {seed} or rows {rows} out of range")
    real = read_source() if source is None else source
    rng = np.random.default_rng(seed)
    day = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    first = ID_BASE + seed * SEED_BLOCK
    day["id"] = [str(first + i) for i in range(rows)]
    for column in ("latitude", "longitude"):
        values = pd.to_numeric(day[column], errors="coerce").to_numpy()
        jittered = values + rng.normal(0.0, JITTER_DEGREES, rows)
        day[column] = [f"{v:.6f}" if np.isfinite(v) else "" for v in jittered]
    return day


def write_day(folder: Path, date: dt.date, rows: int, seed: int, source: pd.DataFrame | None = None) -> Path:
    """Write a synthetic day as ``folder/listings_<date>.csv.gz``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"listings_{date.isoformat()}.csv.gz"
    frame = synth_frame(rows, seed, source)
    frame.to_csv(path, index=False, encoding="utf-8", compression={"method": "gzip", "compresslevel": 1})
    return path


def write_days(folder: Path, first: dt.date, days: int, rows: int, first_seed: int) -> list[Path]:
    """``days`` consecutive synthetic days from ``first`` (seeds ``first_seed``, ``first_seed + 1``, ...)."""
    source = read_source()
    return [
        write_day(folder, first + dt.timedelta(days=i), rows, first_seed + i, source) for i in range(days)
    ]


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.synth --rows N --date D --out FOLDER``: write one synthetic day."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2020, 1, 1))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(".bench/synth"))
    args = parser.parse_args(argv)
    print(write_day(args.out, args.date, args.rows, args.seed))


if __name__ == "__main__":
    main()
