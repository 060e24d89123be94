"""The gold asset: incremental (only snapshots with silver rows added since the last run), one row per key."""

import datetime as dt

import dagster as dg
from pyspark.sql import functions as F

from airbnb_assets.gold.assets import (
    LABELLED_SNAPSHOTS,
    LABELS_CHECK,
    UNIQUE_CHECK,
    drop_vanished_dates,
    gold_listing_features,
    run_gold,
    written_counts,
)
from airbnb_assets.gold.features import KEYS
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import GOLD, LANDING_FILES, SILVER
from airbnb_assets_tests.conftest import build_silver, snapshot_file


def _add_silver(spark, lakehouse: LakehouseResource, day: str) -> int:  # type: ignore[no-untyped-def]
    """Append the real silver rows of one snapshot to ``silver/listings``, as the silver step does."""
    rows = build_silver(spark, [snapshot_file(day)]).withColumn("_batch", F.lit(f"test:{day}"))
    lakehouse.append(rows, SILVER)
    return lakehouse.read(SILVER).filter(F.col("snapshot_date") == day).count()


def _per_snapshot(df) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {str(r[0]): r[1] for r in df.groupBy("snapshot_date").count().collect()}


def _materialize(lakehouse: LakehouseResource) -> tuple[dict, dg.AssetCheckEvaluation]:
    """Run the asset; return its materialization metadata and its uniqueness check."""
    resources = {"lakehouse": lakehouse, "pyspark_step_launcher": dg.ResourceDefinition.none_resource()}
    result = dg.materialize([gold_listing_features], resources=resources, raise_on_error=False)
    (event,) = result.get_asset_materialization_events()
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks[LABELS_CHECK].passed  # every snapshot here has prices
    return dict(event.materialization.metadata), checks[UNIQUE_CHECK]


def test_gold_follows_silver_incrementally_and_checks_one_row_per_key(spark, lakehouse) -> None:  # type: ignore[no-untyped-def]
    assert run_gold(lakehouse) == (0, [], [], 0) and not lakehouse.exists(GOLD)  # no silver: nothing to do

    first = _add_silver(spark, lakehouse, "2015-05-04")
    assert run_gold(lakehouse) == (first, [dt.date(2015, 5, 4)], [dt.date(2015, 5, 4)], 0)
    version = lakehouse.version(GOLD)

    # Nothing new since: the asset writes nothing, reports the table and passes its check.
    metadata, check = _materialize(lakehouse)
    assert (metadata["rows_written"].value, metadata["dagster/row_count"].value) == (0, first)
    assert (check.passed, check.metadata["duplicate_keys"].value) == (True, 0)
    assert check.metadata["dates_checked"].value == "none"  # nothing rebuilt, nothing to re-check
    assert metadata[LABELLED_SNAPSHOTS].value == "none"  # nothing for the retrain sensor either
    assert lakehouse.version(GOLD) == version

    second = _add_silver(spark, lakehouse, "2017-04-02")
    # Only the new snapshot's rows, not the first one's again.
    assert run_gold(lakehouse) == (second, [dt.date(2017, 4, 2)], [dt.date(2017, 4, 2)], 0)
    gold, silver = lakehouse.read(GOLD), lakehouse.read(SILVER)
    assert _per_snapshot(gold) == _per_snapshot(silver) == {"2015-05-04": first, "2017-04-02": second}
    assert gold.groupBy(*KEYS).count().filter("count > 1").count() == 0
    gold_keys = gold.select(F.col("listing_id").alias("id"), "snapshot_date")
    assert gold_keys.exceptAll(silver.select("id", "snapshot_date")).count() == 0

    # The same listings appended to silver again (a broken upstream): gold gets them, and the
    # blocking check fails, naming how many keys are duplicated.
    lakehouse.append(silver, SILVER)
    metadata, check = _materialize(lakehouse)
    assert metadata[LABELLED_SNAPSHOTS].value == "2015-05-04, 2017-04-02"
    assert (check.passed, check.metadata["duplicate_keys"].value) == (False, first + second)
    assert check.metadata["dates_checked"].value == "2015-05-04, 2017-04-02"
    assert lakehouse.read(GOLD).count() == 2 * (first + second)


def test_a_date_superseded_away_leaves_gold_and_only_such_dates_are_checked(spark, lakehouse) -> None:  # type: ignore[no-untyped-def]
    first = _add_silver(spark, lakehouse, "2015-05-04")
    second = _add_silver(spark, lakehouse, "2017-04-02")
    run_gold(lakehouse)
    assert _per_snapshot(lakehouse.read(GOLD)) == {"2015-05-04": first, "2017-04-02": second}

    # A re-delivery of 2017-04-02 whose rows all failed: silver's rows of the date were moved away
    # (here: deleted) and no new row came. Without a ledger, the two tables' dates are compared.
    lakehouse.delta(SILVER).delete("snapshot_date = DATE'2017-04-02'")
    assert drop_vanished_dates(lakehouse) == [dt.date(2017, 4, 2)]
    assert _per_snapshot(lakehouse.read(GOLD)) == {"2015-05-04": first}

    # With a ledger, only dates with a superseded file can vanish: a deletion the ledger does not
    # know of is not looked for, a superseded date still in silver stays.
    ledger = [
        {
            "file_path": f"/l/{name}",
            "file_name": name,
            "snapshot_date": date,
            "status": status,
            "recorded_at": dt.datetime(2020, 1, 1),
        }
        for name, date, status in [
            ("listings_2015-05-04.csv", dt.date(2015, 5, 4), "superseded"),
            ("listings_2015-05-04_v2.csv", dt.date(2015, 5, 4), "ingested"),
        ]
    ]
    lakehouse.append(lakehouse.create_frame(ledger, LANDING_FILES), LANDING_FILES)
    assert drop_vanished_dates(lakehouse) == []
    assert _per_snapshot(lakehouse.read(GOLD)) == {"2015-05-04": first}
    lakehouse.delta(SILVER).delete("snapshot_date = DATE'2015-05-04'")
    assert drop_vanished_dates(lakehouse) == [dt.date(2015, 5, 4)]
    assert not lakehouse.read(GOLD).count()


def test_written_counts_give_rows_and_duplicated_keys_per_date(spark) -> None:  # type: ignore[no-untyped-def]
    d1, d2 = dt.date(2019, 6, 2), dt.date(2019, 10, 14)
    rows = [(1, d1), (1, d1), (1, d1), (2, d1), (3, d1), (3, d1), (1, d2), (2, d2)]
    features = spark.createDataFrame(rows, "listing_id long, snapshot_date date")
    # Keys 1 and 3 repeat on 2019-06-02 (two keys, five of its six rows); 2019-10-14 is clean.
    assert written_counts(features) == {d1: (6, 2), d2: (2, 0)}
    assert written_counts(features.limit(0)) == {}
