"""Silver → gold on the real snapshots: one row per silver row, each feature checked against the raw file."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.gold.features import FEATURES, KEYS, TARGET, build_features
from airbnb_assets.ingest.files import probe_file
from airbnb_assets_tests.conftest import REPLAY_DAYS, build_silver, csv_data_rows, snapshot_file


def _raw(day: str) -> dict[int, dict[str, str]]:
    """The snapshot's rows as read by Python's csv module, by listing id."""
    path = snapshot_file(day)
    header = probe_file(str(path)).columns
    return {int(r[0]): dict(zip(header, r, strict=True)) for r in csv_data_rows(path)}


def _number(text: str) -> float | None:
    cleaned = text.replace("$", "").replace(",", "").strip()
    return float(cleaned) if cleaned else None


def _date(text: str) -> dt.date | None:
    if not text.strip():
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            pass
    raise ValueError(text)


@pytest.fixture(scope="module")
def built(spark) -> dict[str, tuple[pd.DataFrame, object]]:  # type: ignore[no-untyped-def]
    """Gold of a summary extract (2017-03-02) and of the detailed one (2019-06-02), with their silver."""
    out = {}
    for day in ("2017-03-02", "2019-06-02"):
        silver = build_silver(spark, [snapshot_file(day)]).cache()
        out[day] = (build_features(silver).toPandas(), silver)
    return out


def test_gold_has_the_six_snapshots(snapshot_gold_rows: pd.DataFrame) -> None:
    sizes = snapshot_gold_rows.groupby("snapshot_date").size()
    assert [str(d) for d in sizes.index] == list(REPLAY_DAYS)
    assert REPLAY_DAYS == ("2015-05-04", "2016-07-02", "2017-03-02", "2017-04-02", "2019-06-02", "2019-10-14")
    assert sizes.min() > 5000
    assert not snapshot_gold_rows.duplicated(list(KEYS)).any()


def test_declared_columns_and_types(spark) -> None:  # type: ignore[no-untyped-def]
    silver = build_silver(spark, [snapshot_file("2015-05-04")])
    gold = build_features(silver)
    assert gold.columns == [*KEYS, *[f.name for f in FEATURES], TARGET, "_built_at"]
    types = dict(gold.dtypes)
    assert {f.name: types[f.name] for f in FEATURES} == {f.name: f.spark_type for f in FEATURES}
    assert (types["listing_id"], types["snapshot_date"], types[TARGET]) == ("bigint", "date", "double")
    assert gold.count() == silver.count()


def test_summary_extract_features_equal_the_raw_file(built) -> None:  # type: ignore[no-untyped-def]
    gold, silver = built["2017-03-02"]
    raw = _raw("2017-03-02")
    snapshot = dt.date(2017, 3, 2)
    assert len(gold) == silver.count() and gold.listing_id.is_unique
    assert set(gold.snapshot_date) == {snapshot}
    for row in gold.itertuples():
        src = raw[row.listing_id]
        assert row.neighbourhood == src["neighbourhood"] and row.room_type == src["room_type"]
        assert (row.latitude, row.longitude) == (float(src["latitude"]), float(src["longitude"]))
        assert row.minimum_nights == float(src["minimum_nights"])
        assert row.number_of_reviews == float(src["number_of_reviews"])
        assert row.availability_365 == float(src["availability_365"])
        assert row.host_listings_count == float(src["calculated_host_listings_count"])
        assert row.price == _number(src["price"])
        expected_rpm = _number(src["reviews_per_month"])
        if expected_rpm is None and src["number_of_reviews"] == "0":
            expected_rpm = 0.0  # no reviews: zero reviews a month, not unknown
        assert _same(row.reviews_per_month, expected_rpm), row.listing_id
        reviewed = _date(src["last_review"])
        days = None if reviewed is None else float((snapshot - reviewed).days)
        assert _same(row.days_since_last_review, days), row.listing_id
    # Detailed-extract features are absent from a summary extract: null, not zero.
    assert gold[["host_is_superhost", "review_scores_rating", "cleaning_fee"]].isna().all().all()
    names = {row.listing_id: row.name for row in gold.itertuples()}
    assert sum(names[i] == raw[i]["name"].strip() for i in names) >= 0.99 * len(names)


def test_detailed_extract_features_equal_the_raw_file(built) -> None:  # type: ignore[no-untyped-def]
    gold, _ = built["2019-06-02"]
    raw = _raw("2019-06-02")
    superhost = {"t": 1.0, "f": 0.0}
    for row in gold.itertuples():
        src = raw[row.listing_id]
        assert _same(row.host_is_superhost, superhost.get(src["host_is_superhost"])), row.listing_id
        assert _same(row.cleaning_fee, _number(src["cleaning_fee"])), row.listing_id
        assert _same(row.review_scores_rating, _number(src["review_scores_rating"])), row.listing_id
        assert row.price == _number(src["price"])  # "$1,234.00" -> 1234.0
    assert gold.host_is_superhost.notna().mean() > 0.9 and gold.cleaning_fee.notna().mean() > 0.8
    # This extract has no minimum_nights, availability, reviews dates or host counts, and no title.
    absent = ["minimum_nights", "availability_365", "days_since_last_review", "host_listings_count", "name"]
    assert gold[absent].isna().all().all()


def test_only_declared_features_and_a_null_target_is_kept(built) -> None:  # type: ignore[no-untyped-def]
    _, silver = built["2017-03-02"]
    unlabelled = silver.withColumn(
        "price", F.when(F.col("id") % 2 == 0, F.lit(None)).otherwise(F.col("price"))
    )
    chosen = tuple(f for f in FEATURES if f.name in ("room_type", "days_since_last_review"))
    gold = build_features(unlabelled, chosen)
    assert gold.columns == [*KEYS, "room_type", "days_since_last_review", TARGET, "_built_at"]
    assert gold.count() == silver.count()  # a future arrival without a price is still a gold row
    assert gold.filter(F.col(TARGET).isNull()).count() == silver.filter("id % 2 = 0").count() > 0


def _same(got: float | None, expected: float | None) -> bool:
    if expected is None:
        return got is None or pd.isna(got)
    return got == pytest.approx(expected)
