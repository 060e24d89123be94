"""Benchmark: drift on a million-row day stays within seconds (bounded, fixed-seed sampling).

Run: ``uv run python benchmarks/drift_million_rows.py``. Results are recorded in RESULTS.md.
"""

import time

import numpy as np
import pandas as pd

from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC
from airbnb_assets.monitoring.drift.data import data_drift, model_drift

ROWS = 1_000_000


def frame(rows: int, shift: float, seed: int) -> pd.DataFrame:
    """Synthetic contract columns: numeric normals (shifted) and two categoricals."""
    rng = np.random.default_rng(seed)
    data = {c: rng.normal(100 + shift * 10, 20, rows) for c in NUMERIC}
    rooms = np.array(["Entire home/apt", "Private room", "Shared room"])
    data["room_type"] = rooms[rng.integers(0, 3, rows)]
    data["neighbourhood"] = np.array([f"n{i}" for i in range(37)])[rng.integers(0, 37, rows)]
    return pd.DataFrame(data)[[*NUMERIC, *CATEGORICAL]]


def main() -> None:
    """Time data_drift and model_drift on 1M reference rows vs 1M current rows."""
    reference, current = frame(ROWS, 0.0, 1), frame(ROWS, 0.5, 2)
    start = time.perf_counter()
    data_drift(reference.head(1000), current.head(1000))  # warm-up: Evidently import (~5 s)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    result = data_drift(reference, current)
    drift_s = time.perf_counter() - start
    scored = pd.DataFrame({"prediction": current["latitude"], "actual_price": current["longitude"]})
    start = time.perf_counter()
    model_drift(scored, {"mae": 20.0, "rmse": 25.0, "r2": 0.1}, previous_predictions=reference["latitude"])
    model_s = time.perf_counter() - start
    print(f"rows per side: {ROWS:,}; sampled to {result.n_current:,}")
    print(f"first call (imports Evidently): {warm:.1f} s")
    verdict = f"dataset_drift={result.dataset_drift}, share={result.share_drifted:.2f}"
    print(f"data_drift:  {drift_s:.2f} s  ({verdict})")
    print(f"model_drift: {model_s:.2f} s")


if __name__ == "__main__":
    main()
