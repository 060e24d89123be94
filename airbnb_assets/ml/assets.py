"""ML assets: the daily predictions table and the registered price model.

The daily order (``docs/architecture.rst``): the day's listings are scored by the champion that
served when the day began (:func:`~airbnb_assets.ml.registry.serving_version`: trained only on
earlier snapshots); drift judges that champion; only then may ``price_model`` retrain, and what it
promotes serves from the next day. The predictions read the champion from the MLflow registry,
not through an asset edge (the model depends on the drift report, which depends on predictions).
"""

import datetime as dt
from typing import Any

import dagster as dg
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from airbnb_assets.gold.assets import GOLD_KEY
from airbnb_assets.gold.features import KEYS, MAX_MISSING_SHARE, TARGET
from airbnb_assets.metadata import table_metadata
from airbnb_assets.ml.contract import CONTRACT, missing_required
from airbnb_assets.ml.promotion import PROMOTION_TOLERANCE, decide
from airbnb_assets.ml.registry import (
    CHAMPION,
    last_evaluated,
    load_model,
    register_retrain,
    serving_version,
)
from airbnb_assets.ml.scoring import score
from airbnb_assets.ml.train import features_frame, train
from airbnb_assets.monitoring.sensors import DRIFT_REPORT_KEY
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
TRAINING_CONTRACT_CHECK = "training_contract_complete"


class PriceModelConfig(dg.Config):
    """Run configuration of the model asset."""

    force_retrain: bool = False
    promotion_tolerance: float = PROMOTION_TOLERANCE
    max_training_rows: int = 500_000
    max_missing_share: float = MAX_MISSING_SHARE


def labelled_until(gold: DataFrame, day: dt.date) -> DataFrame:
    """Gold rows with a price, from snapshots up to ``day``."""
    return gold.filter((F.col("snapshot_date") <= F.lit(day)) & F.col(TARGET).isNotNull())


def latest_snapshot(df: DataFrame) -> dt.date | None:
    """The newest ``snapshot_date`` in ``df`` (``None`` if empty)."""
    value = df.agg(F.max("snapshot_date")).collect()[0][0]
    return value if isinstance(value, dt.date) else None


def training_rows(labelled: DataFrame, max_rows: int) -> pd.DataFrame:
    """The contract columns of the labelled rows as pandas, sampled (fixed seed) above ``max_rows``."""
    rows = labelled.select(*KEYS, *[c.name for c in CONTRACT], TARGET)
    total = rows.count()
    if total > max_rows:
        rows = rows.sample(fraction=max_rows / total, seed=42)
    return rows.toPandas()


def _contract_check(missing: list[str], evaluated_on: Any, share: float) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=TRAINING_CONTRACT_CHECK,
        asset_key=MODEL_KEY,
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "missing_features": ", ".join(missing) or "none",
            "snapshot": str(evaluated_on or "none"),
            "max_missing_share": share,
        },
    )


@dg.asset(
    key=MODEL_KEY,
    deps=[GOLD_KEY, DRIFT_REPORT_KEY],
    partitions_def=DAILY,
    group_name="ml",
    kinds={"scikitlearn", "mlflow"},
    check_specs=[
        dg.AssetCheckSpec(
            TRAINING_CONTRACT_CHECK,
            asset=MODEL_KEY,
            description="The latest labelled snapshot has every required feature (else no promotion).",
        )
    ],
    description="Retrains after the day was scored and judged: a challenger trained on the snapshots "
    "before the latest labelled one is compared out of time with the serving champion; a winner is "
    "refit on every labelled row and serves from the next day.",
)
def price_model(
    context: dg.AssetExecutionContext,
    config: PriceModelConfig,
    spark: SparkResource,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Retrain when due (a new labelled snapshot, or forced), gate out of time, refit the winner."""
    session, client = spark.session, mlflow.activate()
    day = dt.date.fromisoformat(context.partition_key)
    base: dict[str, Any] = {
        "model_name": mlflow.model_name,
        "tracking_uri": dg.MetadataValue.text(mlflow.tracking_uri),
    }
    gold = lakehouse.read_or_none(session, GOLD_FEATURES)
    labelled = labelled_until(gold, day) if gold is not None else None
    latest = latest_snapshot(labelled) if labelled is not None else None
    if labelled is None or latest is None:
        return dg.MaterializeResult(
            metadata={**base, "retrained": False, "reason": "no labelled rows yet"},
            check_results=[_contract_check([], None, config.max_missing_share)],
        )
    evaluated = last_evaluated(client, mlflow.model_name)
    if not (config.force_retrain or evaluated is None or latest > evaluated):
        return dg.MaterializeResult(
            metadata={
                **base,
                "retrained": False,
                "reason": f"no new labelled snapshot (latest {latest} was evaluated already)",
            },
            check_results=[_contract_check([], latest, config.max_missing_share)],
        )
    rows = training_rows(labelled, config.max_training_rows)
    result = train(rows)  # challenger: trained before `latest`, evaluated on `latest`
    champion = serving_version(client, mlflow.model_name, before=latest)
    champion_mae = None
    if champion is not None:
        predicted = load_model(mlflow.model_name, str(champion.version)).predict(
            features_frame(result.validation)
        )
        champion_mae = float(abs(predicted - result.validation[TARGET].to_numpy()).mean())
    latest_rows = rows[rows.snapshot_date == latest]
    missing = missing_required(latest_rows, config.max_missing_share)
    decision = decide(
        result.metrics["mae"],
        champion_mae,
        str(champion.version) if champion is not None else None,
        missing,
        config.promotion_tolerance,
    )
    reg = register_retrain(
        client, mlflow.model_name, rows, result, decision, evaluated_on=latest, run_date=context.partition_key
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
            "refit_on_all_rows": decision.promote,
            "trained_through": str(latest) if decision.promote else result.train_snapshots[-1],
            "evaluated_on": str(latest),
            "validation": result.scheme,
            "training_rows": len(rows) if decision.promote else result.n_train,  # rows in the fit
            "champion_compared": str(champion.version) if champion is not None else "none",
            **({"champion_val_mae": round(champion_mae, 4)} if champion_mae is not None else {}),
            **{f"val_{k}": round(v, 4) for k, v in result.metrics.items()},
            **{f"baseline_{k}": round(v, 4) for k, v in result.baseline_metrics.items()},
        },
        check_results=[_contract_check(missing, latest, config.max_missing_share)],
    )


@dg.asset(
    key=PREDICTIONS_KEY,
    deps=[GOLD_KEY],
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
    description="Daily price predictions for the latest snapshot up to the day, by the champion that "
    "served when the day began (trained only on earlier snapshots; a rerun or backfill replaces the "
    "day). Rows that cannot be scored go to gold/price_predictions_quarantine.",
)
def price_predictions(
    context: dg.AssetExecutionContext,
    spark: SparkResource,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Score the day's listings in Spark with the model serving that snapshot."""
    session, client = spark.session, mlflow.activate()
    day = dt.date.fromisoformat(context.partition_key)
    gold = lakehouse.read_or_none(session, GOLD_FEATURES)
    snapshot = (
        latest_snapshot(gold.filter(F.col("snapshot_date") <= F.lit(day))) if gold is not None else None
    )
    if gold is None or snapshot is None:
        return dg.MaterializeResult(
            metadata={"rows_scored": 0, "reason": "no listings up to this day"},
            check_results=_checks([], 0, 0, 0),
        )
    champion = serving_version(client, mlflow.model_name, before=snapshot)
    if champion is None:
        # The first model is trained at the end of the first labelled day and serves from the next.
        context.log.info(f"no model trained before {snapshot} yet: nothing scored for {day}")
        return dg.MaterializeResult(
            metadata={"rows_scored": 0, "reason": f"no '{CHAMPION}' trained before snapshot {snapshot} yet"},
            check_results=_checks([], 0, 0, 0),
        )
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
