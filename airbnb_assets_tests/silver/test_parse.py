"""Silver parsing on small DataFrames (no Dagster)."""

import datetime as dt

from airbnb_assets.silver.parse import apply_aliases, parse_bronze

PROV = {
    "_source_file": "f.csv",
    "_snapshot_date": dt.date(2019, 6, 2),
    "_ingested_at": None,
    "_rescued_data": None,
}


def _bronze(spark, rows: list[dict]):  # type: ignore[no-untyped-def]
    cols = sorted({k for r in rows for k in r} - set(PROV))
    full = [{**dict.fromkeys(cols), **PROV, **r} for r in rows]
    schema = ", ".join(
        [f"`{c}` string" for c in cols]
        + ["_source_file string", "_snapshot_date date", "_ingested_at timestamp", "_rescued_data string"]
    )
    return spark.createDataFrame([tuple(r[c] for c in [*cols, *PROV]) for r in full], schema)


def test_parses_prices_dates_booleans_and_null_tokens(spark) -> None:  # type: ignore[no-untyped-def]
    bronze = _bronze(
        spark,
        [
            {
                "id": "1",
                "price": "$1,234.00 ",
                "last_review": "2019-05-30",
                "host_is_superhost": "t",
                "host_response_time": "N/A",
                "minimum_nights": "3",
            },
            {
                "id": "2",
                "price": "89",
                "last_review": "6/25/16",
                "host_is_superhost": "f",
                "host_response_time": "within an hour",
                "minimum_nights": "30.0",
            },
        ],
    )
    rows = {r["id"]: r for r in parse_bronze(bronze).collect()}
    assert rows[1]["price"] == 1234.0 and rows[2]["price"] == 89.0
    assert rows[1]["last_review"] == dt.date(2019, 5, 30)
    assert rows[2]["last_review"] == dt.date(2016, 6, 25)
    assert rows[1]["host_is_superhost"] is True and rows[2]["host_is_superhost"] is False
    assert rows[1]["host_response_time"] is None
    assert rows[2]["minimum_nights"] == 30
    assert rows[1]["_parse_errors"] == [] and rows[2]["_parse_errors"] == []
    assert rows[1]["snapshot_date"] == dt.date(2019, 6, 2)
    assert rows[1]["availability_365"] is None  # declared column absent from the file


def test_unparsable_values_are_listed_not_silently_nulled(spark) -> None:  # type: ignore[no-untyped-def]
    bronze = _bronze(
        spark, [{"id": "1", "price": "cheap", "minimum_nights": "2.5", "last_review": "yesterday"}]
    )
    row = parse_bronze(bronze).collect()[0]
    assert row["price"] is None and row["minimum_nights"] is None and row["last_review"] is None
    assert sorted(row["_parse_errors"]) == ["last_review", "minimum_nights", "price"]
    assert '"price":"cheap"' in row["_bronze_record"]


def test_prices_parse_by_their_grammar_and_nothing_else(spark) -> None:  # type: ignore[no-untyped-def]
    """Inside Airbnb's forms parse; a decimal comma or a trailing symbol is a parse error, not 4500."""
    good = {"$1,234.00": 1234.0, "$9.99": 9.99, "150": 150.0, "150.0": 150.0, "$12,345": 12345.0}
    bad = ["45,00 $", "1.234,50", "12,34", "$ 12", "-5", "12$", "1,2345.00", "$1,234,5"]
    rows = [{"id": str(i), "price": v} for i, v in enumerate([*good, *bad])]
    parsed = {r["id"]: r for r in parse_bronze(_bronze(spark, rows)).collect()}
    for i, text in enumerate([*good, *bad]):
        row = parsed[i]
        if text in good:
            assert (row["price"], row["_parse_errors"]) == (good[text], []), text
        else:
            assert (row["price"], row["_parse_errors"]) == (None, ["price"]), text


def test_misspelled_neighbourhood_header_is_mapped(spark) -> None:  # type: ignore[no-untyped-def]
    bronze = _bronze(
        spark, [{"id": "1", "neighbohhood": "Mission"}, {"id": "2", "neighbourhood": "Noe Valley"}]
    )
    assert "neighbohhood" not in apply_aliases(bronze).columns
    rows = {r["id"]: r["neighbourhood"] for r in parse_bronze(bronze).collect()}
    assert rows == {1: "Mission", 2: "Noe Valley"}


def test_ids_parse_exactly_from_their_text(spark) -> None:  # type: ignore[no-untyped-def]
    """19-digit ids (above 2^53) stay exact: they are never routed through a double."""
    bronze = _bronze(
        spark,
        [
            {"id": "1442282797961371321", "host_id": "489744000000000001"},
            {"id": "1442282797961371322", "host_id": "+7.0"},
            {"id": "9223372036854775808", "host_id": "1e3"},  # above the bigint range; exponent
        ],
    )
    rows = parse_bronze(bronze).collect()
    assert [(r["id"], r["host_id"]) for r in rows[:2]] == [
        (1442282797961371321, 489744000000000001),
        (1442282797961371322, 7),
    ]
    assert rows[2]["id"] is None and rows[2]["host_id"] is None
    assert sorted(rows[2]["_parse_errors"]) == ["host_id", "id"]
