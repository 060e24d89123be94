"""The drift report asset: judge the model that scored the day; write its reports and history rows."""

import datetime as dt
import json
from typing import Any

import dagster as dg
import pandas as pd

from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC
from airbnb_assets.ml.serving import interval_band, training_snapshots
from airbnb_assets.monitoring.drift.data import data_drift
from airbnb_assets.monitoring.drift.model import COVERAGE_TOLERANCE, LEVEL_TOLERANCE, model_drift
from airbnb_assets.monitoring.drift.reference import champion_reference, previous_day, scored_days
from airbnb_assets.partitions import partition_day
from airbnb_assets.platform.declare import asset_spec, spark_asset
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.sampling import sample_table
from airbnb_assets.platform.tables import (
    DRIFT_METRICS,
    DRIFT_REPORT_KEY,
    GOLD,
    PREDICTION_STATS_REPORT,
    PREDICTIONS,
)
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.resources.monitoring import MonitoringResource

DATA_DRIFT_CHECK = "no_dataset_drift"
MODEL_DRIFT_CHECK = "model_performance_within_tolerance"


def _no_report(reason: str) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"evaluated": False, "reason": reason},
        check_results=[
            dg.AssetCheckResult(check_name=DATA_DRIFT_CHECK, passed=True, metadata={"reason": reason}),
            dg.AssetCheckResult(check_name=MODEL_DRIFT_CHECK, passed=True, metadata={"reason": reason}),
        ],
    )


@spark_asset(
    asset_spec(
        DRIFT_REPORT_KEY,
        "monitoring",
        "Evidently data drift (day's features vs the serving champion's training data) and model "
        "drift (that champion's MAE/RMSE/R² on the day's labelled rows, never seen in training, vs "
        "its out-of-sample reference; prediction distribution); HTML + JSON reports, drift_metrics "
        "history.",
        kinds={"evidently", "delta"},
        deps=[PREDICTIONS.key, GOLD.key],
    ),
    checks=[
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
)
def drift_report(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
    monitoring: MonitoringResource,
) -> dg.MaterializeResult:
    """Judge the model that scored the day (recorded in its prediction statistics) on data it never saw."""
    client = mlflow.activate()
    day = partition_day(context)
    days = scored_days(lakehouse)  # the prediction statistics: no scan of the predictions
    if day not in days:
        return _no_report("no predictions for this day")
    snapshot, version = days[day].snapshot, days[day].version
    champion = client.get_model_version(mlflow.model_name, version)
    features = [*NUMERIC, *CATEGORICAL]
    current = sample_table(
        lakehouse, GOLD, features, [("snapshot_date", "=", snapshot)], monitoring.max_rows, monitoring.seed
    )
    reference = champion_reference(
        lakehouse,
        mlflow.model_name,
        str(champion.version),
        training_snapshots(champion),
        features,
        monitoring.max_rows,
        monitoring.seed,
    )
    data = data_drift(reference, current, max_rows=monitoring.max_rows, seed=monitoring.seed)

    # The version's out-of-sample reference: its configuration trained before, evaluated on, a snapshot.
    metrics = client.get_run(str(champion.run_id)).data.metrics
    reference_metrics = {k: metrics[f"val_{k}"] for k in ("mae", "rmse", "r2") if f"val_{k}" in metrics}
    before = previous_day(days, day)
    previous = (
        sample_table(
            lakehouse,
            PREDICTIONS,
            ["prediction"],
            [("run_date", "=", before)],
            monitoring.max_rows,
            monitoring.seed,
            total=days[before].rows,  # known: no count
        )["prediction"]
        if before is not None
        else None
    )
    scored = sample_table(
        lakehouse,
        PREDICTIONS,
        ["prediction", "actual_price", "model_prediction", "prediction_p10", "prediction_p90"],
        [("run_date", "=", day)],
        monitoring.max_rows,
        monitoring.seed,
        total=days[day].rows,
    )
    model = model_drift(
        scored,
        reference_metrics,
        previous_predictions=previous,
        band=interval_band(champion),
        max_rows=monitoring.max_rows,
        seed=monitoring.seed,
    )

    store, folder = lakehouse.artifacts, f"drift/{day.isoformat()}"
    data_html = store.write_text(f"{folder}/data_drift.html", data.html)
    model_html = store.write_text(f"{folder}/model_drift.html", model.html)
    report = {"data": data.as_json(), "model": model.as_json()}
    store.write_text(f"{folder}/drift.json", json.dumps(report, indent=2))
    rows = metric_rows(day, snapshot, data, model, str(champion.version), data_html)
    # The day's prediction statistics rows stay.
    lakehouse.replace_partition_records(rows, DRIFT_METRICS, day, [("report", "!=", PREDICTION_STATS_REPORT)])
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
            "model_drift_reasons": ", ".join(model.reasons) or "none",
            **{k: round(v, 4) for k, v in model.evidence.items() if v is not None},
            "labelled_rows": model.n_labelled,
            "champion_version": str(champion.version),
            "snapshot_compared": str(snapshot),
            "reference_snapshots": ", ".join(training_snapshots(champion)),
            "reference_rows": len(reference),
            "data_drift_report": dg.MetadataValue.path(data_html),
            "model_drift_report": dg.MetadataValue.path(model_html),
            **({"report_url": dg.MetadataValue.url(url)} if (url := store.url(data_html)) else {}),
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
                    "reasons": ", ".join(model.reasons) or "none",
                    **{k: round(v, 4) for k, v in model.evidence.items() if v is not None},
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
                "drifted": "mae" in model.reasons if name == "mae" else None,
            }
        )
    targets = {
        "band_coverage_80": ("coverage", 0.8, COVERAGE_TOLERANCE),
        "market_level": ("level", 1.0, LEVEL_TOLERANCE),
    }
    for name, value in model.evidence.items():
        reason, target, tolerance = targets.get(name, (None, 0.8, None))
        rows.append(
            {
                **common,
                "report": "model",
                "column": name,
                "method": "evidence",
                "score": _f(value),
                "threshold": tolerance,
                "reference": target,
                "drifted": (reason in model.reasons) if reason is not None and value is not None else None,
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
