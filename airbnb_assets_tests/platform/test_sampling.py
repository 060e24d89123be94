"""Bounded samples: every row below the cap, a reproducible fixed-seed sample above it, no count needed;
a table slice within the cap read without Spark."""

import datetime as dt

import pandas as pd
from pyspark.sql import functions as F

from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC
from airbnb_assets.platform.sampling import sample_table, sample_to_pandas
from airbnb_assets.platform.tables import GOLD
from airbnb_assets_tests.conftest import build_gold, last_spark_job, snapshot_file


def test_sample_is_bounded_and_reproducible(snapshot_gold) -> None:  # type: ignore[no-untyped-def]
    rows = snapshot_gold.select("listing_id", "snapshot_date", "price")
    total = rows.count()
    assert len(sample_to_pandas(rows, total)) == total  # at the cap: every row
    assert len(sample_to_pandas(rows, total, total=total)) == total

    labelled = rows.filter(F.col("price").isNotNull())
    first = sample_to_pandas(labelled, 5_000, seed=7, total=total)  # the table's count bounds the rows
    again = sample_to_pandas(labelled, 5_000, seed=7, total=total)
    assert first.equals(again)  # same rows, same seed: the same sample
    assert 4_000 < len(first) < 5_500 and first["price"].notna().all()
    other = sample_to_pandas(labelled, 5_000, seed=8, total=total)
    assert not first.equals(other)
    keys = set(zip(first.listing_id, first.snapshot_date, strict=True))
    assert len(keys) == len(first)  # a sample, not a bootstrap: no row twice


def test_a_table_slice_within_the_cap_is_read_without_spark_as_spark_reads_it(lakehouse, spark) -> None:  # type: ignore[no-untyped-def]
    lakehouse.append(build_gold(spark, [snapshot_file("2017-03-02"), snapshot_file("2017-04-02")]), GOLD)
    columns = [*NUMERIC, *CATEGORICAL]
    march = [("snapshot_date", "=", dt.date(2017, 3, 2))]
    by_spark = lakehouse.read(GOLD).filter("snapshot_date = DATE'2017-03-02'").select(*columns).toPandas()

    before = last_spark_job(lakehouse)
    rows = sample_table(lakehouse, GOLD, columns, march, max_rows=len(by_spark))
    assert last_spark_job(lakehouse) == before  # delta-rs: no Spark job, not even a count
    assert dict(rows.dtypes) == dict(by_spark.dtypes)
    pd.testing.assert_frame_equal(  # the same rows, in the files' order either way
        rows.sort_values(columns, ignore_index=True), by_spark.sort_values(columns, ignore_index=True)
    )

    # Over the cap: Spark's fixed-seed sample of the same slice, its size from delta-rs (no count job).
    before = last_spark_job(lakehouse)
    capped = sample_table(lakehouse, GOLD, ["listing_id", "snapshot_date"], march, max_rows=2_000, seed=7)
    assert last_spark_job(lakehouse) <= before + 2  # the sample's collect alone (a Spark count added 3)
    assert 1_500 < len(capped) < 2_500 and set(capped["snapshot_date"]) == {dt.date(2017, 3, 2)}
    again = sample_table(lakehouse, GOLD, ["listing_id", "snapshot_date"], march, max_rows=2_000, seed=7)
    assert capped.equals(again)
