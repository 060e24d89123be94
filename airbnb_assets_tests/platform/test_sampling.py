"""Bounded samples: every row below the cap, a reproducible fixed-seed sample above it, no count needed."""

from pyspark.sql import functions as F

from airbnb_assets.platform.sampling import sample_to_pandas


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
