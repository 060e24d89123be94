"""Wrong or missing labels: a day whose prices jump is held from training, one without prices warns.

Gold holds the real 2017-03-02 rows, then a 2017-04-02 whose prices were read 100 times too high
(what a decimal-comma file did before prices had a grammar: ``45,00`` read as 4500), then a clean
snapshot; ``ml/price_model`` is materialized after each, as the retrain job does.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
from pyspark.sql import functions as F

from airbnb_assets.gold.assets import LABELLED_SNAPSHOTS, LABELS_CHECK, gold_listing_features
from airbnb_assets.ml.assets.model import price_model
from airbnb_assets.ml.serving import CHAMPION, held_snapshots
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import GOLD, SILVER
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets_tests.conftest import build_silver, snapshot_file

MARCH, APRIL, MAY = dt.date(2017, 3, 2), dt.date(2017, 4, 2), dt.date(2017, 5, 2)


def _retrain(resources: dict, day: dt.date) -> dict:
    result = dg.materialize([price_model], partition_key=str(day + dt.timedelta(days=1)), resources=resources)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_a_day_whose_labels_jump_is_held_from_training(  # type: ignore[no-untyped-def]
    resources: dict, lakehouse: LakehouseResource, mlflow_store: MlflowResource, snapshot_gold
) -> None:
    resources = {**resources, "mlflow": mlflow_store}
    gold = snapshot_gold.drop("_built_at").filter(F.col("snapshot_date").isin(MARCH, APRIL))
    lakehouse.append(gold.filter(F.col("snapshot_date") == MARCH), GOLD)
    first = _retrain(resources, MARCH)
    assert first["promoted"] is True and first["model_version"] == "1"

    inflated = gold.filter(F.col("snapshot_date") == APRIL).withColumn("price", F.col("price") * 100)
    lakehouse.append(inflated, GOLD)
    refused = _retrain(resources, APRIL)
    assert refused["promoted"] is False and refused["evaluated_on"] == str(APRIL)
    assert "the latest snapshot's labels jumped (median price" in refused["promotion"]
    assert "it is held from training" in refused["promotion"]
    client = mlflow_store.activate()
    assert client.get_model_version(mlflow_store.model_name, "2").tags["decision_reason"] == "labels"
    assert str(client.get_model_version_by_alias(mlflow_store.model_name, CHAMPION).version) == "1"
    assert held_snapshots(client, mlflow_store.model_name) == [str(APRIL)]

    # The next snapshot (April's real rows, dated May) trains without the held day.
    lakehouse.append(
        gold.filter(F.col("snapshot_date") == APRIL).withColumn("snapshot_date", F.lit(MAY)), GOLD
    )
    clean = _retrain(resources, MAY)
    assert clean["held_from_training"] == str(APRIL) and clean["promoted"] is True
    v3 = client.get_model_version(mlflow_store.model_name, clean["model_version"])
    assert v3.tags["training_snapshots"] == f"{MARCH},{MAY}"
    assert clean["training_rows"] == gold.filter(F.col("price").isNotNull()).count()  # March + May


def test_a_snapshot_without_prices_is_written_with_a_warning(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    silver = build_silver(spark, [snapshot_file("2017-04-02")]).withColumn("_batch", F.lit("test"))
    lakehouse.append(silver.withColumn("price", F.lit(None).cast("double")), SILVER)
    resources = {"lakehouse": lakehouse, "pyspark_step_launcher": dg.ResourceDefinition.none_resource()}
    result = dg.materialize([gold_listing_features], resources=resources)
    assert result.success  # the day is still featured and scored
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    labels = checks[LABELS_CHECK]
    assert labels.passed is False and labels.severity == dg.AssetCheckSeverity.WARN
    assert labels.description == (
        "no price in snapshot(s) 2017-04-02: scored, but no model drift can be measured "
        "and no retrain can use them"
    )
    assert labels.metadata["snapshots_without_prices"].value == "2017-04-02"
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata[LABELLED_SNAPSHOTS].value == "none"
    assert lakehouse.read(GOLD).count() == silver.count()
