"""Assets with materialize_to_memory: metadata, check results, fail rules stop silver."""

import shutil
from pathlib import Path

import dagster as dg

from airbnb_assets.definitions import ASSETS
from airbnb_assets.resources.lakehouse import DATA_QUALITY, SILVER_LISTINGS, LakehouseResource
from airbnb_assets_tests.conftest import SNAPSHOT_FILES


def _checks(result: dg.ExecuteInProcessResult) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> dict:
    return {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def test_assets_materialize_one_day(resources: dict, lakehouse: LakehouseResource) -> None:
    src = next(p for p in SNAPSHOT_FILES if "2019-10-14" in p.name)
    shutil.copyfile(src, Path(lakehouse.landing_path) / src.name)
    result = dg.materialize_to_memory(ASSETS, resources=resources, partition_key="2019-10-14")
    assert result.success
    mats = _materialized(result)
    assert mats["bronze/listings"]["rows_written"].value == 8111
    assert (
        mats["silver/listings"]["rows_written"].value
        + mats["silver/listings_quarantine"]["rows_written"].value
        == 8111
    )
    checks = _checks(result)
    assert checks["expect_room_type_known"].passed is False  # 207 Hotel rooms, kept
    assert checks["expect_room_type_known"].severity == dg.AssetCheckSeverity.WARN
    assert checks["expect_room_type_known"].metadata["rows_failed"].value == 207
    assert checks["expect_minimum_nights_in_range"].metadata["rows_failed"].value == 1
    assert checks["expect_id_not_null"].passed is True
    assert checks["rows_reconcile_with_bronze"].passed is True
    assert checks["one_row_per_listing_snapshot"].passed is True
    model = mats["ml/price_model"]
    assert model["retrained"].value is True and model["promoted"].value is True
    assert model["model_uri"].value == "models:/airbnb_price/1"
    assert model["val_mae"].value > 0 and model["validation"].value.startswith("single snapshot")
    predictions = mats["gold/price_predictions"]
    assert predictions["rows_scored"].value == mats["silver/listings"]["rows_written"].value
    assert predictions["rows_quarantined"].value == 0
    assert predictions["model_version"].value == "1"
    assert checks["every_row_scored"].passed is True
    assert checks["feature_contract_complete"].passed is True

    # Same day again: nothing new, nothing written.
    again = dg.materialize_to_memory(ASSETS, resources=resources, partition_key="2019-10-14")
    mats = _materialized(again)
    assert mats["bronze/listings"]["rows_written"].value == 0
    assert mats["gold/listing_features"]["rows_written"].value == 0
    assert mats["ml/price_model"]["retrained"].value is False  # no new labelled snapshot: not due
    assert mats["gold/price_predictions"]["rows_scored"].value == 8102  # the day is replaced


def test_fail_rule_stops_silver_before_commit(resources: dict, lakehouse: LakehouseResource, spark) -> None:  # type: ignore[no-untyped-def]
    bad = Path(lakehouse.landing_path) / "listings_2020-03-01.csv"
    bad.write_text("id,name,price\n1,ok,100\n,missing id,120\n", encoding="utf-8")
    result = dg.materialize_to_memory(
        ASSETS, resources=resources, partition_key="2020-03-01", raise_on_error=False
    )
    assert not result.success
    check = _checks(result)["expect_id_not_null"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["rows_failed"].value == 1
    assert not lakehouse.exists(spark, SILVER_LISTINGS)  # nothing committed
    attempts = lakehouse.read(spark, DATA_QUALITY).filter("rule = 'id_not_null'").collect()
    assert [(a["failed_rows"], a["committed"]) for a in attempts] == [(1, False)]

    # The batch is retried on the next run, and fails again until the data or rule is fixed.
    retry = dg.materialize_to_memory(
        ASSETS, resources=resources, partition_key="2020-03-02", raise_on_error=False
    )
    assert not retry.success
    assert lakehouse.read(spark, DATA_QUALITY).filter("rule = 'id_not_null'").count() == 2
