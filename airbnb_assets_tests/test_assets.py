"""Assets with materialize_to_memory: metadata, check results, a fail rule holds a file."""

import gzip
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd

from airbnb_assets.definitions import ASSETS
from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC
from airbnb_assets.monitoring.dashboard.data import predictions_over_time
from airbnb_assets.monitoring.drift.reference import reference_path
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import (
    BRONZE,
    DATA_QUALITY,
    DRIFT_METRICS,
    PREDICTION_STATISTICS,
    SILVER,
    SILVER_QUARANTINE,
    TABLES,
)
from airbnb_assets_tests.conftest import SNAPSHOT_FILES


def _checks(result: dg.ExecuteInProcessResult) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> dict:
    return {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def _land(lakehouse: LakehouseResource, day: str, transform=None, as_day: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Land the real snapshot of ``day`` (optionally rewritten line by line, or as another day)."""
    src = next(p for p in SNAPSHOT_FILES if day in p.name)
    target = Path(lakehouse.landing_path) / src.name.replace(day, as_day or day)
    if transform is None:
        shutil.copyfile(src, target)
        return
    with (
        gzip.open(src, "rt", encoding="utf-8", newline="") as fin,
        gzip.open(target, "wt", encoding="utf-8", newline="") as fout,
    ):
        for i, line in enumerate(fin):
            fout.write(transform(i, line))


def test_assets_materialize_in_the_daily_order(resources: dict, lakehouse: LakehouseResource) -> None:
    """Day 1 trains the first model; day 2 is scored by it, judged, then refit; day 3 breaks the contract."""
    _land(lakehouse, "2017-03-02")
    first = dg.materialize_to_memory(ASSETS, resources=resources, partition_key="2017-03-02")
    assert first.success
    mats = _materialized(first)
    first_gold_rows = mats["gold/listing_features"]["rows_written"].value
    assert mats["gold/price_predictions"]["rows_scored"].value == 0  # no model trained before day 1
    assert mats["monitoring/drift_report"]["evaluated"].value is False
    model = mats["ml/price_model"]
    assert model["retrained"].value is True and model["promoted"].value is True
    assert model["validation"].value.startswith("single snapshot") and model["refit_on_all_rows"].value
    assert model["refit_beside_challenger"].value is True  # under 50,000 rows: in a second thread

    _land(lakehouse, "2019-10-14")
    after = {"ops": {"ml__price_model": {"config": {"background_refit_max_rows": 0}}}}  # the other way
    result = dg.materialize_to_memory(
        ASSETS, resources=resources, partition_key="2019-10-14", run_config=after
    )
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
    assert checks["expect_feature_present_room_type"].passed is True
    assert checks["rows_reconcile_with_bronze"].passed is True
    assert checks["one_row_per_listing_snapshot"].passed is True
    predictions = mats["gold/price_predictions"]
    assert predictions["rows_scored"].value == mats["silver/listings"]["rows_written"].value
    assert predictions["rows_quarantined"].value == 0
    assert predictions["model_version"].value == "1"  # the champion when the day began
    assert checks["every_row_scored"].passed is True
    assert checks["feature_contract_complete"].passed is True
    drift = mats["monitoring/drift_report"]
    assert drift["champion_version"].value == "1" and drift["labelled_rows"].value == 8102
    assert drift["model_mae"].value != drift["reference_mae"].value  # judged out of sample
    model = mats["ml/price_model"]
    assert model["promoted"].value is True and model["model_uri"].value == "models:/airbnb_price/2"
    assert model["champion_compared"].value == "1" and model["trained_through"].value == "2019-10-14"
    assert model["validation"].value.startswith("out of time")
    assert model["refit_beside_challenger"].value is False and model["refit_on_all_rows"].value
    assert checks["training_contract_complete"].passed is True
    # v1's drift reference was stored beside it when it was registered (day 1), from the rows it
    # was fit on; the drift report read it. v2's is stored by this retrain.
    reference = Path(lakehouse.artifacts.path(reference_path("airbnb_price", "1")))
    stored = (reference.stat().st_mtime_ns, reference.read_bytes())
    assert len(pd.read_parquet(reference)) == drift["reference_rows"].value == first_gold_rows
    assert model["drift_reference"].value == reference_path("airbnb_price", "2")
    second = pd.read_parquet(lakehouse.artifacts.path(model["drift_reference"].value))
    assert len(second) == model["training_rows"].value == first_gold_rows + 8102  # under max_rows
    assert set(second.columns) == {*NUMERIC, *CATEGORICAL}
    # The day's prediction statistics were recorded once, beside the drift rows of the day.
    stats = {
        r["column"]: r["score"]
        for r in lakehouse.read(DRIFT_METRICS).filter("report = 'predictions'").collect()
    }
    assert stats["rows_scored"] == 8102 and stats["rows_quarantined"] == 0
    assert round(stats["median_predicted"], 2) == predictions["median_prediction"].value
    over_time = predictions_over_time(lakehouse.to_pandas(DRIFT_METRICS))
    assert over_time[["run_date", "model_version", "n_rows"]].values.tolist() == [["2019-10-14", "1", 8102]]

    # Same day again: nothing new; the day is re-scored by the model that served it, not by v2.
    again = dg.materialize_to_memory(ASSETS, resources=resources, partition_key="2019-10-14")
    mats = _materialized(again)
    assert mats["bronze/listings"]["rows_written"].value == 0
    assert mats["gold/listing_features"]["rows_written"].value == 0
    assert mats["ml/price_model"]["retrained"].value is False  # no new labelled snapshot: not due
    assert mats["gold/price_predictions"]["rows_scored"].value == 8102  # the day is replaced
    assert mats["gold/price_predictions"]["model_version"].value == "1"
    assert (reference.stat().st_mtime_ns, reference.read_bytes()) == stored  # read, not resampled
    replaced = lakehouse.read(DRIFT_METRICS).filter("report = 'predictions'")
    assert replaced.count() == len(PREDICTION_STATISTICS)  # replaced, not added

    # A later file renames room_type: ERROR check on silver, WARN on the model, champion kept.
    def rename(i: int, line: str) -> str:
        return line.replace("room_type", "accommodation_kind") if i == 0 else line

    _land(lakehouse, "2017-04-02", rename, as_day="2019-11-14")
    result = dg.materialize_to_memory(ASSETS, resources=resources, partition_key="2019-11-14")
    assert result.success  # nothing blocks: the rows are kept, the promotion is not
    assert _materialized(result)["gold/price_predictions"]["model_version"].value == "2"
    checks = _checks(result)
    silver = checks["expect_feature_present_room_type"]
    assert silver.passed is False and silver.severity == dg.AssetCheckSeverity.ERROR
    assert checks["expect_feature_present_minimum_nights"].passed is True
    gate = checks["training_contract_complete"]
    assert gate.passed is False and gate.severity == dg.AssetCheckSeverity.WARN
    assert gate.metadata["missing_features"].value == "room_type"
    model = _materialized(result)["ml/price_model"]
    assert model["promoted"].value is False and "room_type" in model["promotion"].value
    assert model["refit_on_all_rows"].value is False
    client = resources["mlflow"].activate()
    assert client.get_model_version_by_alias("airbnb_price", "champion").version == 2
    refused = client.get_model_version_by_alias("airbnb_price", "challenger")
    assert refused.tags["decision_reason"] == "contract" and refused.tags["missing_features"] == "room_type"
    _assert_column_schemas_are_the_written_columns(lakehouse)


def _assert_column_schemas_are_the_written_columns(lakehouse: LakehouseResource) -> None:
    """Each table asset's ``dagster/column_schema`` names the columns its table holds (bronze: the
    provenance it declares, beside the landed headers' columns, all strings)."""
    tables = {t.key: t for t in TABLES}
    specs = [s for a in ASSETS for s in a.specs if s.key in tables]
    assert len(specs) == 7
    for spec in specs:
        declared = {c.name: c.type for c in spec.metadata["dagster/column_schema"].columns}
        written = {f.name: f.dataType.simpleString() for f in lakehouse.read(tables[spec.key]).schema}
        if spec.key == BRONZE.key:
            assert declared.items() <= written.items()
            assert {t for c, t in written.items() if c not in declared} == {"string"}
        else:
            assert sorted(declared) == sorted(written), spec.key
            assert declared == written, spec.key  # and the same Spark SQL types


def test_fail_rule_holds_the_file_not_the_next_run(resources: dict, lakehouse: LakehouseResource) -> None:
    """A fail rule failing on more than 1 % of a file's rows holds that file whole; the next run goes on."""
    bad = Path(lakehouse.landing_path) / "listings_2020-03-01.csv"
    bad.write_text("id,name,price\n1,ok,100\n,missing id,120\n", encoding="utf-8")
    result = dg.materialize_to_memory(
        ASSETS, resources=resources, partition_key="2020-03-01", raise_on_error=False
    )
    assert not result.success  # the blocking check stops everything downstream of silver
    check = _checks(result)["expect_id_not_null"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["rows_failed"].value == 1
    assert check.metadata["held_files"].value == "listings_2020-03-01.csv"
    assert lakehouse.read(SILVER).count() == 0  # nothing of the held file reaches silver
    held = lakehouse.read(SILVER_QUARANTINE).filter("_held").select("_quarantine_reason").collect()
    assert [r[0] for r in held] == ["held: id_not_null failed on 50.0% of rows (> 1%)"] * 2
    attempts = lakehouse.read(DATA_QUALITY).filter("rule = 'id_not_null'").collect()
    assert [(a["failed_rows"], a["committed"]) for a in attempts] == [(1, False)]

    # The held file is not retried: the next run has nothing new and its check passes.
    retry = dg.materialize_to_memory(
        ASSETS, resources=resources, partition_key="2020-03-02", raise_on_error=False
    )
    assert _checks(retry)["expect_id_not_null"].passed
    assert retry.is_node_success("silver_listings")
    assert lakehouse.read(DATA_QUALITY).filter("rule = 'id_not_null'").count() == 1
