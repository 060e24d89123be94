"""End to end: replay all six real snapshots through the daily job with the documented CLI."""

import datetime as dt

import pytest
from pyspark.sql import functions as F

from airbnb_assets.cli import main
from airbnb_assets.environments import build_resources, current_settings
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.resources.lakehouse import (
    BRONZE_LISTINGS,
    DATA_QUALITY,
    GOLD_FEATURES,
    LANDING_FILES,
    SILVER_LISTINGS,
    SILVER_QUARANTINE,
)
from airbnb_assets_tests.conftest import SNAPSHOT_FILES, csv_data_rows


def _price(raw: str) -> float | None:
    cleaned = raw.replace("$", "").replace(",", "").strip()
    return float(cleaned) if cleaned else None


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory, spark):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("e2e") / "lakehouse"
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRBNB_LAKEHOUSE_ROOT", str(root))
    mp.delenv("DAGSTER_HOME", raising=False)
    assert main(["replay"]) == 0
    lakehouse = build_resources(current_settings())["lakehouse"]
    yield lakehouse
    mp.undo()


def _per_snapshot(df, column: str) -> dict:  # type: ignore[no-untyped-def]
    return {str(r[0]): r[1] for r in df.groupBy(column).count().collect()}


def test_every_row_accounted_for(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    bronze = _per_snapshot(replayed.read(spark, BRONZE_LISTINGS), "_snapshot_date")
    expected = {p.name[9:19]: len(csv_data_rows(p)) for p in SNAPSHOT_FILES}
    assert bronze == expected
    silver = _per_snapshot(replayed.read(spark, SILVER_LISTINGS), "snapshot_date")
    quarantine = _per_snapshot(replayed.read(spark, SILVER_QUARANTINE), "snapshot_date")
    assert {d: silver[d] + quarantine.get(d, 0) for d in silver} == expected
    assert _per_snapshot(replayed.read(spark, GOLD_FEATURES), "snapshot_date") == silver
    ledger = replayed.read(spark, LANDING_FILES).collect()
    assert sorted((r["file_name"], r["status"], r["rows"]) for r in ledger) == sorted(
        (p.name, "ingested", expected[p.name[9:19]]) for p in SNAPSHOT_FILES
    )


def test_quarantine_matches_the_raw_files(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    """Placeholder prices (>= 10000, or 0) and absurd minimum nights are dropped, per file."""
    quarantine = replayed.read(spark, SILVER_QUARANTINE)

    def dropped(row: list[str], columns: list[str]) -> bool:
        price = _price(row[columns.index("price")])
        if price is not None and not 0 < price < 10000:
            return True
        return "minimum_nights" in columns and not 1 <= float(row[columns.index("minimum_nights")]) <= 1125

    for path in SNAPSHOT_FILES:
        columns = probe_file(str(path)).columns
        expected = sum(dropped(r, columns) for r in csv_data_rows(path))
        got = quarantine.filter(F.col("snapshot_date") == path.name[9:19]).count()
        assert got == expected, path.name


def test_2019_06_dollar_prices_typed(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    path = next(p for p in SNAPSHOT_FILES if "2019-06-02" in p.name)
    raw = {int(r[0]): _price(r[9]) for r in csv_data_rows(path)}
    silver = replayed.read(spark, SILVER_LISTINGS).filter("snapshot_date = DATE'2019-06-02'")
    assert dict(silver.dtypes)["price"] == "double"
    got = {r["id"]: r["price"] for r in silver.select("id", "price").collect()}
    assert len(got) == 7574 and all(got[i] == raw[i] for i in got)
    assert silver.filter("cleaning_fee IS NOT NULL").count() > 6000
    assert silver.filter("host_is_superhost").count() > 0


def test_2019_10_renamed_header_fills_neighbourhood(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(spark, SILVER_LISTINGS).filter("snapshot_date = DATE'2019-10-14'")
    assert silver.count() == 8102
    assert silver.filter("neighbourhood IS NULL").count() == 0
    assert silver.select("neighbourhood").distinct().count() >= 36
    assert silver.filter("room_type = 'Hotel room'").count() == 207


def test_mac_roman_dates_typed(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(spark, SILVER_LISTINGS).filter("snapshot_date = DATE'2016-07-02'")
    latest = silver.agg(F.max("last_review")).collect()[0][0]
    assert latest == dt.date(2016, 7, 2)
    assert silver.filter("last_review IS NULL AND number_of_reviews > 0").count() == 0


def test_quality_history_and_idempotent_rerun(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    dq = replayed.read(spark, DATA_QUALITY)
    assert dq.select("run_date").distinct().count() == 6
    assert dq.filter("committed = false").count() == 0
    versions = {t: replayed.version(spark, t) for t in (BRONZE_LISTINGS, SILVER_LISTINGS, GOLD_FEATURES)}
    assert main(["run", "--date", "2019-10-14"]) == 0
    assert {t: replayed.version(spark, t) for t in versions} == versions
