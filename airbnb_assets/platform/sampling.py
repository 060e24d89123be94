"""Bounded, reproducible samples of Spark DataFrames, collected as pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame


def sample_to_pandas(df: DataFrame, max_rows: int, seed: int = 42) -> pd.DataFrame:
    """At most about ``max_rows`` rows of ``df`` (fixed-seed Bernoulli sample in Spark), as pandas."""
    total = df.count()
    if total > max_rows:
        df = df.sample(fraction=max_rows / total, seed=seed)
    return df.toPandas()
