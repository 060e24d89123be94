"""The bounded latest-snapshot lookup on real gold rows and a ledger with a held file and a re-delivery."""

import datetime as dt

import pytest
from pyspark.sql import functions as F

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.snapshots import candidate_dates, latest_snapshot, max_snapshot
from airbnb_assets.platform.tables import GOLD, LANDING_FILES
from airbnb_assets_tests.conftest import build_gold, snapshot_file

MARCH, APRIL, HELD = dt.date(2017, 3, 2), dt.date(2017, 4, 2), dt.date(2017, 5, 2)


def _ledger_row(name: str, date: dt.date, status: str) -> dict:
    return {
        "file_path": f"/landing/{name}",
        "file_name": name,
        "snapshot_date": date,
        "status": status,
        "recorded_at": dt.datetime(2020, 1, 1),
    }


def _ledger(lakehouse: LakehouseResource) -> None:
    rows = [
        _ledger_row("listings_2017-03-02.csv.gz", MARCH, "ingested"),
        _ledger_row("listings_2017-04-02.csv.gz", APRIL, "ingested"),
        _ledger_row("listings_2017-04-02.csv.gz", APRIL, "superseded"),
        _ledger_row("listings_2017-04-02_v2.csv.gz", APRIL, "ingested"),  # a re-delivery: same date
        _ledger_row("listings_2017-05-02.csv.gz", HELD, "ingested"),  # held by a fail rule: not in gold
        _ledger_row("listings_2017-05-02.csv.gz", HELD, "rejected"),
        _ledger_row("notes.txt", None, "ignored"),  # type: ignore[arg-type]
    ]
    lakehouse.append(lakehouse.create_frame(rows, LANDING_FILES), LANDING_FILES)


def test_latest_snapshot_skips_held_files_and_matches_the_full_scan(
    lakehouse: LakehouseResource, spark
) -> None:  # type: ignore[no-untyped-def]
    gold = build_gold(spark, [snapshot_file("2017-03-02"), snapshot_file("2017-04-02")])
    # April arrives without prices: the labelled lookup must fall back to March.
    gold = gold.withColumn(
        "price", F.when(F.col("snapshot_date") == F.lit(APRIL), None).otherwise(F.col("price"))
    )
    lakehouse.append(gold, GOLD)
    table = lakehouse.read(GOLD)
    priced = F.col("price").isNotNull()

    # Without a ledger the lookup is the full scan.
    assert candidate_dates(lakehouse, HELD) is None
    assert latest_snapshot(lakehouse, table, HELD) == APRIL

    _ledger(lakehouse)
    assert candidate_dates(lakehouse, dt.date(2017, 5, 10)) == [HELD, APRIL, MARCH]  # once per date
    expected = {
        dt.date(2017, 5, 10): (APRIL, MARCH),  # the held file's date is skipped
        HELD: (APRIL, MARCH),
        dt.date(2017, 4, 20): (APRIL, MARCH),  # a day without a file: the latest before it
        APRIL: (APRIL, MARCH),
        dt.date(2017, 3, 20): (MARCH, MARCH),
        dt.date(2017, 3, 1): (None, None),  # nothing up to the day
    }
    by_spark = lakehouse.model_copy(update={"delta_rs": False})
    for day, (latest, labelled) in expected.items():
        assert latest_snapshot(lakehouse, table, day) == latest == max_snapshot(table, day), day
        assert latest_snapshot(lakehouse, table, day, source=GOLD) == latest, day  # confirmed by delta-rs
        assert latest_snapshot(by_spark, table, day, source=GOLD) == latest, day
        assert latest_snapshot(lakehouse, table, day, priced) == labelled == max_snapshot(table, day, priced)


def test_the_training_window_and_superseded_dates_come_from_the_ledger(
    lakehouse: LakehouseResource, spark
) -> None:  # type: ignore[no-untyped-def]
    from airbnb_assets.ml.assets.model import labelled_until, window_start
    from airbnb_assets.platform.snapshots import superseded_dates

    assert superseded_dates(lakehouse) is None  # no ledger yet
    _ledger(lakehouse)
    assert superseded_dates(lakehouse) == [APRIL]  # the re-delivered file's date, once

    # Ledger dates up to the day, newest first: HELD, APRIL, MARCH.
    assert window_start(lakehouse, dt.date(2017, 6, 1), 2) == APRIL
    assert window_start(lakehouse, dt.date(2017, 6, 1), 3) is None  # the whole history fits
    assert window_start(lakehouse, APRIL, 2) is None  # HELD is after the day
    with pytest.raises(ValueError, match="at least 2"):
        window_start(lakehouse, APRIL, 1)

    gold = build_gold(spark, [snapshot_file("2017-03-02"), snapshot_file("2017-04-02")])
    march = gold.filter(F.col("snapshot_date") == F.lit(MARCH)).count()
    april = gold.filter(F.col("snapshot_date") == F.lit(APRIL)).count()
    priced = gold.filter("price IS NOT NULL")
    assert labelled_until(gold, HELD).count() == priced.count() > march  # no window: both snapshots
    windowed = labelled_until(gold, HELD, since=APRIL)
    assert {r[0] for r in windowed.select("snapshot_date").distinct().collect()} == {APRIL}
    assert windowed.count() == priced.filter(F.col("snapshot_date") == F.lit(APRIL)).count() <= april
