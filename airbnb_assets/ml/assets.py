"""ML assets: the registered price model and the daily predictions table."""

import datetime as dt
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from airbnb_assets.gold.assets import GOLD_KEY
from airbnb_assets.gold.features import KEYS, TARGET
from airbnb_assets.metadata import table_metadata
from airbnb_assets.ml.contract import CONTRACT
from airbnb_assets.ml.registry import (
    CHAMPION,
    PROMOTION_TOLERANCE,
    champion_version,
    latest_trained_through,
    log_and_register,
)
from airbnb_assets.ml.scoring import score
from airbnb_assets.ml.train import train
from airbnb_assets.partitions import DAILY
from airbnb_assets.resources.lakehouse import (
    GOLD_FEATURES,
    PREDICTIONS,
    PREDICTIONS_QUARANTINE,
    LakehouseResource,
)
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.resources.spark import SparkResource

MODEL_KEY = dg.AssetKey(["ml", "price_model"])
PREDICTIONS_KEY = dg.AssetKey(PREDICTIONS.split("/"))
CONTRACT_CHECK = "feature_contract_complete"
SCORED_CHECK = "every_row_scored"


class PriceModelConfig(dg.Config):
    """Run configuration of the model asset."""

    force_retrain: bool = False
    promotion_tolerance: float = PROMOTION_TOLERANCE
    max_training_rows: int = 500_000


def labelled_until(gold: DataFrame, day: dt.date) -> DataFrame:
    """Gold rows with a price, from snapshots up to ``day``."""
    return gold.filter((F.col("snapshot_date") <= F.lit(day)) & F.col(TARGET).isNotNull())


def latest_snapshot(df: DataFrame) -> dt.date | None:
    """The newest ``snapshot_date`` in ``df`` (``None`` if empty)."""
    value = df.agg(F.max("snapshot_date")).collect()[0][0]
    return value if isinstance(value, dt.date) else None


@dg.asset(
    key=MODEL_KEY,
    deps=[GOLD_KEY],
    partitions_def=DAILY,
    group_name="ml",
    kinds={"scikitlearn", "mlflow"},
    description="Price model trained on labelled gold rows up to the day, tracked and registered in "
    "MLflow; the validation gate decides whether a new version becomes champion.",
)
def price_model(
    context: dg.AssetExecutionContext,
    config: PriceModelConfig,
    spark: SparkResource,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Retrain when due (new labelled snapshot, no champion, or forced) and gate the promotion."""
    session, client = spark.session, mlflow.activate()
    day = dt.date.fromisoformat(context.partition_key)
    gold = lakehouse.read_or_none(session, GOLD_FEATURES)
    labelled = labelled_until(gold, day) if gold is not None else None
    latest = latest_snapshot(labelled) if labelled is not None else None
    champion = champion_version(client, mlflow.model_name)
    trained_through = latest_trained_through(client, mlflow.model_name)
    base: dict[str, Any] = {
        "model_name": mlflow.model_name,
        "tracking_uri": dg.MetadataValue.text(mlflow.tracking_uri),
    }
    if labelled is None or latest is None:
        return dg.MaterializeResult(metadata={**base, "retrained": False, "reason": "no labelled rows yet"})
    due = config.force_retrain or champion is None or trained_through is None or latest > trained_through
    if not due:
        assert champion is not None
        return dg.MaterializeResult(
            metadata={
                **base,
                "retrained": False,
                "champion_version": str(champion.version),
                "model_uri": f"models:/{mlflow.model_name}@{CHAMPION}",
                "reason": f"champion is current (models trained through {trained_through})",
            }
        )
    columns = [*KEYS, *[c.name for c in CONTRACT], TARGET]
    rows = labelled.select(*columns)
    total = rows.count()
    if total > config.max_training_rows:
        rows = rows.sample(fraction=config.max_training_rows / total, seed=42)
    result = train(rows.toPandas())
    reg = log_and_register(
        client, mlflow.model_name, result, latest, context.partition_key, config.promotion_tolerance
    )
    (context.log.info if reg.promoted else context.log.warning)(reg.decision)
    return dg.MaterializeResult(
        metadata={
            **base,
            "retrained": True,
            "model_version": reg.version,
            "model_uri": reg.model_uri,
            "mlflow_run_id": reg.run_id,
            "promoted": reg.promoted,
            "promotion": reg.decision,
            "validation": result.scheme,
            "training_rows": result.n_train,
            **{f"val_{k}": round(v, 4) for k, v in result.metrics.items()},
            **{f"baseline_{k}": round(v, 4) for k, v in result.baseline_metrics.items()},
        }
    )


@dg.asset(
    key=PREDICTIONS_KEY,
    deps=[GOLD_KEY, MODEL_KEY],
    partitions_def=DAILY,
    group_name="ml",
    kinds={"spark", "delta", "mlflow"},
    check_specs=[
        dg.AssetCheckSpec(
            CONTRACT_CHECK,
            asset=PREDICTIONS_KEY,
            description="Every feature of the contract was present in the scored table.",
        ),
        dg.AssetCheckSpec(
            SCORED_CHECK,
            asset=PREDICTIONS_KEY,
            blocking=True,
            description="Every input row was scored or quarantined with a reason.",
        ),
    ],
    description="Daily price predictions of the champion model for the latest snapshot up to the day "
    "(a rerun replaces the day). Rows that cannot be scored go to gold/price_predictions_quarantine.",
)
def price_predictions(
    context: dg.AssetExecutionContext,
    spark: SparkResource,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Score the day's listings with the champion, in Spark."""
    session, client = spark.session, mlflow.activate()
    day = dt.date.fromisoformat(context.partition_key)
    gold = lakehouse.read_or_none(session, GOLD_FEATURES)
    snapshot = (
        latest_snapshot(gold.filter(F.col("snapshot_date") <= F.lit(day))) if gold is not None else None
    )
    champion = champion_version(client, mlflow.model_name)
    if gold is None or snapshot is None:
        return dg.MaterializeResult(
            metadata={"rows_scored": 0, "reason": "no listings up to this day"},
            check_results=_checks([], 0, 0, 0),
        )
    if champion is None:
        raise dg.Failure(f"no '{CHAMPION}' version of {mlflow.model_name}: materialize ml/price_model first")
    todays = gold.filter(F.col("snapshot_date") == F.lit(snapshot))
    scored = score(
        session,
        todays,
        f"models:/{mlflow.model_name}/{champion.version}",  # pinned: the version recorded is the one used
        mlflow.model_name,
        str(champion.version),
        day,
    )
    condition = f"run_date = DATE'{day.isoformat()}'"
    lakehouse.replace_where(scored.predictions, PREDICTIONS, condition, partition_by=["run_date"])
    lakehouse.replace_where(scored.rejected, PREDICTIONS_QUARANTINE, condition, partition_by=["run_date"])
    written = lakehouse.read(session, PREDICTIONS).filter(condition)
    stats = written.agg(
        F.count(F.lit(1)), F.avg("prediction"), F.expr("percentile(prediction, 0.5)")
    ).collect()[0]
    rejected = lakehouse.read(session, PREDICTIONS_QUARANTINE).filter(condition).count()
    for reason in [r[0] for r in scored.rejected.select("reason").limit(5).collect()]:
        context.log.warning(f"not scored: {reason}")
    return dg.MaterializeResult(
        metadata={
            **table_metadata(session, lakehouse, PREDICTIONS),
            "snapshot_scored": str(snapshot),
            "rows_scored": int(stats[0]),
            "rows_quarantined": rejected,
            "mean_prediction": round(float(stats[1] or 0), 2),
            "median_prediction": round(float(stats[2] or 0), 2),
            "model_version": str(champion.version),
            "model_uri": f"models:/{mlflow.model_name}/{champion.version}",
            "missing_features": ", ".join(scored.missing) or "none",
            "ignored_columns": ", ".join(scored.extra) or "none",
        },
        check_results=_checks(scored.missing, todays.count(), int(stats[0]), rejected),
    )


def _checks(missing: list[str], inputs: int, scored: int, rejected: int) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=CONTRACT_CHECK,
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"missing_features": ", ".join(missing) or "none"},
        ),
        dg.AssetCheckResult(
            check_name=SCORED_CHECK,
            passed=inputs == scored + rejected,
            metadata={"input_rows": inputs, "scored": scored, "quarantined": rejected},
        ),
    ]
