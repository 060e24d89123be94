"""Expectations: warn keeps, drop quarantines with rule names, fail raises; counts per rule."""

import datetime as dt

from airbnb_assets.silver.expectations import EXPECTATIONS, Expectation
from airbnb_assets.silver.quality import evaluate, rank_duplicates, split
from airbnb_assets.silver.schema import SILVER_COLUMNS

D = dt.date(2019, 10, 14)
#: Every declared silver column (typed) plus the audit columns the rules read.
SCHEMA = ", ".join(
    [f"{c.name} {c.spark_type}" for c in SILVER_COLUMNS]
    + [
        "snapshot_date date",
        "_parse_errors array<string>",
        "_ingested_at timestamp",
        "_source_file string",
        "_bronze_record string",
    ]
)
#: A complete, valid row: every required model feature present.
BASE = {
    "id": 1,
    "name": "Sunny room",
    "neighbourhood": "Mission",
    "price": 100.0,
    "minimum_nights": 2,
    "number_of_reviews": 3,
    "reviews_per_month": 0.5,
    "last_review": D,
    "availability_365": 100,
    "calculated_host_listings_count": 1,
    "latitude": 37.77,
    "longitude": -122.42,
    "room_type": "Private room",
    "snapshot_date": D,
    "_parse_errors": [],
    "_ingested_at": None,
    "_source_file": "f",
    "_bronze_record": "{}",
}


def _rows(spark, rows):  # type: ignore[no-untyped-def]
    cols = [c.split()[0] for c in SCHEMA.split(", ")]
    return spark.createDataFrame([tuple({**BASE, **r}.get(c) for c in cols) for r in rows], SCHEMA)


def test_drop_warn_and_null_price(spark) -> None:  # type: ignore[no-untyped-def]
    df = _rows(
        spark,
        [
            {"id": 1},
            {"id": 2, "price": 10000.0},
            {"id": 3, "price": None},
            {"id": 4, "minimum_nights": 100_000_000},
            {"id": 5, "room_type": "Hotel room"},
            {"id": 6, "latitude": 40.7},
            {"id": 7, "price": 0.0, "minimum_nights": 0},
        ],
    )
    out = split(evaluate(rank_duplicates(df)))
    assert sorted(r["id"] for r in out.valid.collect()) == [1, 3, 5]
    reasons = {r["id"]: r["_failed_rules"] for r in out.quarantine.collect()}
    assert reasons == {
        2: ["price_in_range"],
        4: ["minimum_nights_in_range"],
        6: ["coordinates_in_sf"],
        7: ["price_in_range", "minimum_nights_in_range"],
    }
    counts = {r["rule"]: r["failed_rows"] for r in out.counts.collect()}
    assert counts["room_type_known"] == 1  # Hotel room is counted and kept
    assert counts["price_in_range"] == 2 and counts["id_not_null"] == 0
    assert {r["quarantined_rows"] for r in out.counts.collect()} == {4}


def test_duplicates_within_batch_and_against_existing(spark) -> None:  # type: ignore[no-untyped-def]
    df = _rows(spark, [{"id": 1, "_source_file": "a"}, {"id": 1, "_source_file": "b"}, {"id": 2}])
    existing = _rows(spark, [{"id": 2}]).select("id", "snapshot_date")
    out = split(evaluate(rank_duplicates(df, existing)))
    assert [(r["id"], r["_source_file"]) for r in out.valid.collect()] == [(1, "a")]
    assert sorted(r["id"] for r in out.quarantine.collect()) == [1, 2]


def test_null_predicate_counts_as_failure(spark) -> None:  # type: ignore[no-untyped-def]
    rule = Expectation("lat_known", "latitude > 0", "warn", "")
    out = evaluate(_rows(spark, [{"latitude": None}]), (rule,))
    assert out.collect()[0]["_failed_rules"] == ["lat_known"]


def test_every_rule_is_valid_sql_over_silver(spark) -> None:  # type: ignore[no-untyped-def]
    df = rank_duplicates(_rows(spark, [{"id": 1}]))
    counts = {r["rule"] for r in split(evaluate(df)).counts.collect()}
    assert counts == {r.name for r in EXPECTATIONS}


def test_a_missing_contract_column_is_counted_not_dropped(spark) -> None:  # type: ignore[no-untyped-def]
    """A renamed room_type: every row fails its presence rule (a warn rule), none is quarantined."""
    rules = tuple(r for r in EXPECTATIONS if r.name == "feature_present_room_type")
    assert rules and rules[0].max_failed_share == 0.5 and rules[0].check_severity == "ERROR"
    df = rank_duplicates(_rows(spark, [{"id": i, "room_type": None} for i in range(1, 5)] + [{"id": 9}]))
    out = split(evaluate(df))
    assert out.quarantine.count() == 0 and out.valid.count() == 5
    counts = {r["rule"]: (r["failed_rows"], r["total_rows"]) for r in out.counts.collect()}
    assert counts["feature_present_room_type"] == (4, 5)
    assert not rules[0].passes(4, 5) and rules[0].passes(2, 5)
    assert counts["feature_present_name"] == (0, 5)
