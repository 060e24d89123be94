"""Bounded, reproducible samples of Spark DataFrames, collected as pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame


def sample_to_pandas(df: DataFrame, max_rows: int, seed: int = 42, total: int | None = None) -> pd.DataFrame:
    """At most about ``max_rows`` rows of ``df`` (fixed-seed Bernoulli sample in Spark), as pandas.

    ``total`` is the number of rows of ``df`` or an upper bound of it known without a scan (the
    row count of the table ``df`` filters, which Delta keeps in its log): every row is taken when
    it is at most ``max_rows``, else a sample of fraction ``max_rows / total``, so the expected
    size is at most ``max_rows`` and no scan counts ``df`` first. Without ``total``, ``df`` is
    counted (exact fraction: for frames bounded by a day). The same rows and seed give the same
    sample.
    """
    if total is None:
        total = df.count()
    if total > max_rows:
        df = df.sample(fraction=max_rows / total, seed=seed)
    return df.toPandas()
