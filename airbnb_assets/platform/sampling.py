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


def local_rows(
    lakehouse: LakehouseResource,
    table: Table,
    columns: list[str],
    where: list[Filter],
    max_rows: int,
    total: int | None = None,
) -> pd.DataFrame | None:
    """``columns`` of the table's rows matching every filter of ``where``, read with delta-rs.

    Only where the table's log is on this machine's disk and at most ``max_rows`` rows match: no
    Spark job. ``None`` otherwise. ``total`` is the matching rows (or a bound) when already known;
    otherwise they are counted from the files whose statistics may match.
    """
    found = lakehouse.local_filtered(table, where)
    if found is None:
        return None
    rows = total if total is not None else found[0].count_rows(filter=found[1])
    if rows > max_rows:
        return None
    return found[0].to_table(columns=columns, filter=found[1]).to_pandas()


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

    Rows that fit within ``max_rows`` on this machine's disk are all read by :func:`local_rows`
    (a drift report's three reads of a day took 2.7 s of Spark jobs). More rows, and tables
    elsewhere, are sampled by Spark as :func:`sample_to_pandas` does; ``total`` as there. On this
    machine's disk the rows are counted once, with delta-rs, for both.
    """
    if total is None:
        total = lakehouse.matching_rows(table, where)
    rows = local_rows(lakehouse, table, columns, where, max_rows, total)
    if rows is not None:
        return rows
    frame = lakehouse.filtered(lakehouse.read(table), where).select(*columns)
    return sample_to_pandas(frame, max_rows, seed, total)
