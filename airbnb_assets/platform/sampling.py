"""Bounded, reproducible samples of Spark DataFrames and of table slices, collected as pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from airbnb_assets.platform.lakehouse import LakehouseResource
    from airbnb_assets.platform.tables import Table
    from airbnb_assets.platform.writes import Filter


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


def sample_table(
    lakehouse: LakehouseResource,
    table: Table,
    columns: list[str],
    where: list[Filter],
    max_rows: int,
    seed: int = 42,
    total: int | None = None,
) -> pd.DataFrame:
    """:func:`sample_to_pandas` of ``columns`` of the table's rows matching every filter of ``where``.

    Where the table's log is on this machine's disk and the rows fit within ``max_rows``, they are
    all read with delta-rs: only ``columns`` of the files whose statistics may match, no Spark job
    (a drift report's three reads of a day took 2.7 s of Spark jobs). More rows, and tables
    elsewhere, are sampled by Spark as :func:`sample_to_pandas` does; ``total`` as there.
    """
    found = lakehouse.local_filtered(table, where)
    if found is not None:
        dataset, expression = found
        rows = total if total is not None else dataset.count_rows(filter=expression)
        if rows <= max_rows:
            return dataset.to_table(columns=columns, filter=expression).to_pandas()
        total = rows
    from pyspark.sql import functions as F

    frame = lakehouse.read(table)
    for column, op, value in where:
        frame = frame.filter(F.col(column).isin(list(value)) if op == "in" else F.col(column) == F.lit(value))
    return sample_to_pandas(frame.select(*columns), max_rows, seed, total)
