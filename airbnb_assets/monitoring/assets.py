"""Monitoring asset: the daily drift report (Evidently), its files and its history table."""

import datetime as dt
import json
import os
from typing import Any

import dagster as dg
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from airbnb_assets.gold.assets import GOLD_KEY
from airbnb_assets.ml.assets import PREDICTIONS_KEY
from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC
from airbnb_assets.ml.registry import training_snapshots
from airbnb_assets.monitoring.drift import data_drift, model_drift
from airbnb_assets.monitoring.sensors import DRIFT_REPORT_KEY
from airbnb_assets.partitions import DAILY
from airbnb_assets.resources.lakehouse import DRIFT_METRICS, GOLD_FEATURES, PREDICTIONS, LakehouseResource
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.resources.monitoring import MonitoringResource
from airbnb_assets.resources.spark import SparkResource

DATA_DRIFT_CHECK = "no_dataset_drift"
MODEL_DRIFT_CHECK = "model_performance_within_tolerance"

#: Columns of ``monitoring/drift_metrics`` (one row per run date, report and column or metric).
DRIFT_METRICS_SCHEMA = T.StructType(
    [
        T.StructField("run_date", T.DateType(), False, {"comment": "Day of the report (partition)."}),
        T.StructField("snapshot_date", T.DateType(), True, {"comment": "Snapshot compared (current)."}),
        T.StructField("report", T.StringType(), False, {"comment": "data | model"}),
        T.StructField("column", T.StringType(), False, {"comment": "Feature, prediction, or metric name."}),
        T.StructField("method", T.StringType(), True, {"comment": "Drift method or metric."}),
        T.StructField("score", T.DoubleType(), True, {"comment": "Drift score or current metric value."}),
        T.StructField("threshold", T.DoubleType(), True, {"comment": "Threshold the score is held to."}),
        T.StructField("reference", T.DoubleType(), True, {"comment": "Reference metric value (model)."}),
        T.StructField("drifted", T.BooleanType(), True, {"comment": "Whether this row counts as drift."}),
        T.StructField("dataset_drift", T.BooleanType(), True, {"comment": "Dataset verdict of the day."}),
        T.StructField("share_drifted", T.DoubleType(), True, {"comment": "Share of drifted columns."}),
        T.StructField("model_version", T.StringType(), True, {"comment": "Champion compared."}),
        T.StructField("report_path", T.StringType(), True, {"comment": "HTML report of the day."}),
    ]
)


def sample(df: DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most about ``max_rows`` rows of ``df`` (fixed-seed sample in Spark), as pandas."""
    total = df.count()
    if total > max_rows:
        df = df.sample(fraction=max_rows / total, seed=seed)
    return df.toPandas()


def _write(path: str, text: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _no_report(reason: str) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"evaluated": False, "reason": reason},
        check_results=[
            dg.AssetCheckResult(check_name=DATA_DRIFT_CHECK, passed=True, metadata={"reason": reason}),
            dg.AssetCheckResult(check_name=MODEL_DRIFT_CHECK, passed=True, metadata={"reason": reason}),
        ],
    )


@dg.asset(
    key=DRIFT_REPORT_KEY,
    deps=[PREDICTIONS_KEY, GOLD_KEY],
    partitions_def=DAILY,
    group_name="monitoring",
    kinds={"evidently", "delta"},
    check_specs=[
        dg.AssetCheckSpec(
            DATA_DRIFT_CHECK,
            asset=DRIFT_REPORT_KEY,
            description="The day's features did not drift from the champion's training data.",
        ),
        dg.AssetCheckSpec(
            MODEL_DRIFT_CHECK,
            asset=DRIFT_REPORT_KEY,
            description="The serving champion's MAE on the day's labelled rows is within tolerance of "
            "its own out-of-sample reference MAE.",
        ),
    ],
    description="Evidently data drift (day's features vs the serving champion's training data) and model "
    "drift (that champion's MAE/RMSE/R² on the day's labelled rows, never seen in training, vs its "
    "out-of-sample reference; prediction distribution); HTML + JSON reports, drift_metrics history.",
)
def drift_report(
    context: dg.AssetExecutionContext,
    spark: SparkResource,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
    monitoring: MonitoringResource,
) -> dg.MaterializeResult:
    """Judge the model that scored the day (recorded on its predictions) on data it never saw."""
    session, client = spark.session, mlflow.activate()
    day = dt.date.fromisoformat(context.partition_key)
    predictions = lakehouse.read_or_none(session, PREDICTIONS)
    if predictions is None:
        return _no_report("no predictions yet")
    todays = predictions.filter(F.col("run_date") == F.lit(day))
    first = todays.select("snapshot_date", "model_version").limit(1).collect()
    if not first:
        return _no_report("no predictions for this day")
    snapshot, version = first[0][0], first[0][1]
    champion = client.get_model_version(mlflow.model_name, version)
    gold = lakehouse.read(session, GOLD_FEATURES)
    features = [*NUMERIC, *CATEGORICAL]
    current = sample(
        gold.filter(F.col("snapshot_date") == F.lit(snapshot)).select(*features),
        monitoring.max_rows,
        monitoring.seed,
    )
    reference = sample(
        gold.filter(F.col("snapshot_date").isin(training_snapshots(champion))).select(*features),
        monitoring.max_rows,
        monitoring.seed,
    )
    data = data_drift(reference, current, max_rows=monitoring.max_rows, seed=monitoring.seed)

    # The version's out-of-sample reference: its configuration trained before, evaluated on, a snapshot.
    metrics = client.get_run(str(champion.run_id)).data.metrics
    reference_metrics = {k: metrics[f"val_{k}"] for k in ("mae", "rmse", "r2") if f"val_{k}" in metrics}
    previous_day = predictions.filter(F.col("run_date") < F.lit(day)).agg(F.max("run_date")).collect()[0][0]
    previous = (
        sample(
            predictions.filter(F.col("run_date") == F.lit(previous_day)).select("prediction"),
            monitoring.max_rows,
            monitoring.seed,
        )["prediction"]
        if previous_day is not None
        else None
    )
    scored = sample(todays.select("prediction", "actual_price"), monitoring.max_rows, monitoring.seed)
    model = model_drift(
        scored,
        reference_metrics,
        previous_predictions=previous,
        max_rows=monitoring.max_rows,
        seed=monitoring.seed,
    )

    folder = f"{lakehouse.artifacts('drift')}/{day.isoformat()}"
    data_html = _write(f"{folder}/data_drift.html", data.html)
    model_html = _write(f"{folder}/model_drift.html", model.html)
    _write(f"{folder}/drift.json", json.dumps({"data": data.as_json(), "model": model.as_json()}, indent=2))
    rows = metric_rows(day, snapshot, data, model, str(champion.version), data_html)
    lakehouse.replace_where(
        session.createDataFrame(rows, DRIFT_METRICS_SCHEMA),
        DRIFT_METRICS,
        f"run_date = DATE'{day.isoformat()}'",
        partition_by=["run_date"],
    )
    drifted = ", ".join(data.drifted_columns) or "none"
    if data.dataset_drift or model.degraded:
        context.log.warning(f"drift on {day}: data={data.dataset_drift} ({drifted}), model={model.degraded}")
    return dg.MaterializeResult(
        metadata={
            "evaluated": True,
            "dataset_drift": data.dataset_drift,
            "share_drifted": round(data.share_drifted, 4),
            "drifted_columns": drifted,
            "model_degraded": model.degraded,
            "model_mae": (model.metrics or {}).get("mae"),
            "reference_mae": reference_metrics.get("mae"),
            "labelled_rows": model.n_labelled,
            "champion_version": str(champion.version),
            "snapshot_compared": str(snapshot),
            "reference_snapshots": ", ".join(training_snapshots(champion)),
            "data_drift_report": dg.MetadataValue.path(data_html),
            "model_drift_report": dg.MetadataValue.path(model_html),
            "report_url": dg.MetadataValue.url(f"file://{data_html}"),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=DATA_DRIFT_CHECK,
                passed=not data.dataset_drift,
                severity=monitoring.severity("data"),
                metadata={"share_drifted": round(data.share_drifted, 4), "drifted_columns": drifted},
            ),
            dg.AssetCheckResult(
                check_name=MODEL_DRIFT_CHECK,
                passed=not model.degraded,
                severity=monitoring.severity("model"),
                metadata={
                    "mae": (model.metrics or {}).get("mae"),
                    "reference_mae": reference_metrics.get("mae"),
                },
            ),
        ],
    )


def metric_rows(
    day: dt.date, snapshot: dt.date, data: Any, model: Any, version: str, report_path: str
) -> list[dict[str, Any]]:
    """History rows for ``monitoring/drift_metrics``: one per feature, metric and prediction drift."""
    common = {
        "run_date": day,
        "snapshot_date": snapshot,
        "dataset_drift": data.dataset_drift,
        "share_drifted": float(data.share_drifted),
        "model_version": version,
        "report_path": report_path,
    }
    rows = [
        {
            **common,
            "report": "data",
            "column": c.column,
            "method": c.method,
            "score": _f(c.score),
            "threshold": _f(c.threshold),
            "reference": None,
            "drifted": bool(c.drifted),
        }
        for c in data.columns
    ]
    for name, value in (model.metrics or {}).items():
        rows.append(
            {
                **common,
                "report": "model",
                "column": name,
                "method": "metric",
                "score": _f(value),
                "threshold": None,
                "reference": _f(model.reference_metrics.get(name)),
                "drifted": bool(model.degraded) if name == "mae" else None,
            }
        )
    if model.prediction_drift is not None:
        p = model.prediction_drift
        rows.append(
            {
                **common,
                "report": "model",
                "column": "prediction",
                "method": p.method,
                "score": _f(p.score),
                "threshold": _f(p.threshold),
                "reference": None,
                "drifted": bool(p.drifted),
            }
        )
    return rows


def _f(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
