"""Dashboard inputs: small per-day aggregates of the lakehouse tables (Spark in, pandas out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from pyspark.sql import functions as F

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import (
    DATA_QUALITY,
    DRIFT_METRICS,
    PREDICTION_STATISTICS,
    PREDICTION_STATS_REPORT,
    PREDICTIONS,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def _frame(df: DataFrame) -> pd.DataFrame:
    out = df.toPandas()
    for col in out.columns:
        if col == "run_date":
            out[col] = out[col].astype(str)
    return out


def predictions_over_time(metrics: DataFrame) -> pd.DataFrame:
    """Per run date: mean/median predicted and actual price, the band's medians, coverage, model version.

    Read from the few prediction statistics rows per day (``report = "predictions"`` of
    ``monitoring/drift_metrics``, written once when the day is scored), not from the predictions.
    """
    stats = metrics.filter(
        (F.col("report") == PREDICTION_STATS_REPORT) & (F.col("column").isin(*PREDICTION_STATISTICS))
    )
    wide = (
        stats.groupBy("run_date")
        .pivot("column", list(PREDICTION_STATISTICS))
        .agg(F.first("score"))
        .join(stats.groupBy("run_date").agg(F.max("model_version").alias("model_version")), "run_date")
        .filter(F.col("rows_scored") > 0)
    )
    return _frame(
        wide.select(
            "run_date",
            "model_version",
            "mean_predicted",
            "mean_actual",
            "median_predicted",
            "median_actual",
            "median_p10",
            "median_p90",
            "coverage_80",
            "market_level",
            F.col("rows_scored").cast("long").alias("n_rows"),
        ).orderBy("run_date")
    )


def price_by_group(predictions: DataFrame, gold: DataFrame, run_date: str) -> pd.DataFrame:
    """Median predicted and actual price per neighbourhood × room type on ``run_date``.

    Gold is read for the day's snapshot(s) only (Delta skips the other files by their statistics).
    """
    day = predictions.filter(F.col("run_date") == F.lit(run_date))
    snapshots = [r[0] for r in day.select("snapshot_date").distinct().collect()]
    features = gold.filter(F.col("snapshot_date").isin(snapshots)).select(
        "listing_id", "snapshot_date", "neighbourhood", "room_type"
    )
    return _frame(
        day.join(features, ["listing_id", "snapshot_date"])
        .groupBy("neighbourhood", "room_type")
        .agg(
            F.percentile_approx("prediction", 0.5).alias("median_predicted"),
            F.percentile_approx("actual_price", 0.5).alias("median_actual"),
            F.count(F.lit(1)).alias("n"),
        )
    )


def drift_over_time(metrics: DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per run date: dataset verdict, share drifted and model MAE; and per-column scores."""
    data = metrics.filter(F.col("report") == "data")
    model = metrics.filter((F.col("report") == "model") & (F.col("column") == "mae"))
    days = data.groupBy("run_date").agg(
        F.max(F.col("dataset_drift").cast("int")).cast("boolean").alias("dataset_drift"),
        F.max("share_drifted").alias("share_drifted"),
        F.max("report_path").alias("report_path"),
    )
    mae = model.select(
        "run_date", F.col("score").alias("model_mae"), F.col("reference").alias("reference_mae")
    )
    status = _frame(days.join(mae, "run_date", "left").orderBy("run_date"))
    columns = _frame(data.select("run_date", "column", "score", "drifted").orderBy("run_date", "column"))
    return status, columns


def quality_over_time(quality: DataFrame) -> pd.DataFrame:
    """Failed rows per run date and rule (committed runs only)."""
    return _frame(
        quality.filter("committed")
        .groupBy("run_date", "rule", "action")
        .agg(F.sum("failed_rows").alias("failed_rows"), F.sum("total_rows").alias("total_rows"))
        .orderBy("run_date", "rule")
    )


def read_inputs(lakehouse: LakehouseResource) -> tuple[DataFrame | None, DataFrame | None, DataFrame | None]:
    """The predictions, drift metrics and data-quality tables (``None`` where not created yet)."""
    return (
        lakehouse.read_or_none(PREDICTIONS),
        lakehouse.read_or_none(DRIFT_METRICS),
        lakehouse.read_or_none(DATA_QUALITY),
    )


#: The dashboard's model table shows the newest versions only (one MLflow run read per row).
MAX_MODEL_VERSIONS = 30


def model_versions(client: Any, name: str) -> pd.DataFrame:
    """The newest registered versions: the day each was trained, promotion outcome and MAEs (MLflow).

    At most :data:`MAX_MODEL_VERSIONS`, so the step does not grow with a daily retrain's history.
    """
    rows = []
    newest = client.search_model_versions(
        f"name = '{name}'", max_results=MAX_MODEL_VERSIONS, order_by=["version_number DESC"]
    )
    for version in newest:
        run = client.get_run(version.run_id)
        rows.append(
            {
                "run_date": run.data.params.get("run_date", ""),
                "model_version": str(version.version),
                "promoted": run.data.tags.get("promoted") == "True",
                "val_mae": run.data.metrics.get("val_mae"),
                "baseline_mae": run.data.metrics.get("baseline_mae"),
            }
        )
    frame = pd.DataFrame(rows, columns=["run_date", "model_version", "promoted", "val_mae", "baseline_mae"])
    return frame.sort_values(["run_date", "model_version"]).reset_index(drop=True)
