"""Dashboard inputs: small per-day aggregates of the lakehouse tables, as pandas frames."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyspark.sql import functions as F

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.sampling import local_rows
from airbnb_assets.platform.tables import (
    DATA_QUALITY,
    DRIFT_METRICS,
    GOLD,
    PREDICTION_STATISTICS,
    PREDICTION_STATS_REPORT,
    PREDICTIONS,
    Table,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def _frame(df: DataFrame) -> pd.DataFrame:
    return _dated(df.toPandas())


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``run_date`` as ISO text (the page's x axis and its join key)."""
    out = frame.copy()
    if "run_date" in out.columns:
        out["run_date"] = out["run_date"].astype(str)
    return out


def predictions_over_time(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per run date: mean/median predicted and actual price, the band's medians, coverage, model version.

    Read from the few prediction statistics rows per day (``report = "predictions"`` of
    ``monitoring/drift_metrics``, written once when the day is scored), not from the predictions.
    """
    metrics = _dated(metrics)
    stats = metrics[
        (metrics["report"] == PREDICTION_STATS_REPORT) & metrics["column"].isin(PREDICTION_STATISTICS)
    ]
    wide = (
        stats.groupby(["run_date", "column"])["score"]
        .first()
        .unstack()
        .reindex(columns=list(PREDICTION_STATISTICS))
        .join(stats.groupby("run_date")["model_version"].max())
    )
    wide = wide[wide["rows_scored"] > 0].reset_index().sort_values("run_date", ignore_index=True)
    wide["n_rows"] = wide["rows_scored"].astype("int64")
    return wide[
        [
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
            "n_rows",
        ]
    ]


def scored_snapshots(metrics: pd.DataFrame | None, run_date: str) -> list[dt.date] | None:
    """The snapshot(s) ``run_date`` scored, from its prediction statistics rows (``None``: none recorded)."""
    if metrics is None:
        return None
    day = pd.Timestamp(run_date).date()
    rows = metrics[
        (metrics["report"] == PREDICTION_STATS_REPORT) & (pd.to_datetime(metrics["run_date"]).dt.date == day)
    ]
    return sorted({pd.Timestamp(v).date() for v in rows["snapshot_date"].dropna()}) or None


#: The chart's groups, and the columns it reads of the day's predictions and of gold.
GROUP_KEYS = ["neighbourhood", "room_type"]
_SCORED = ["listing_id", "snapshot_date", "prediction", "actual_price"]
_GROUPED = ["listing_id", "snapshot_date", *GROUP_KEYS]


def price_by_group(
    predictions: DataFrame, gold: DataFrame, run_date: str, snapshots: list[Any] | None = None
) -> pd.DataFrame:
    """Median predicted and actual price per neighbourhood × room type on ``run_date``, by Spark.

    Gold is read for the day's snapshot(s) only (Delta skips the other files by their statistics):
    ``snapshots`` (:func:`scored_snapshots`), else those of the day's predictions (one Spark job more).
    """
    day = predictions.filter(F.col("run_date") == F.lit(run_date))
    if snapshots is None:
        snapshots = [r[0] for r in day.select("snapshot_date").distinct().collect()]
    features = gold.filter(F.col("snapshot_date").isin(snapshots)).select(*_GROUPED)
    return _frame(
        day.join(features, ["listing_id", "snapshot_date"])
        .groupBy(*GROUP_KEYS)
        .agg(
            F.percentile_approx("prediction", 0.5).alias("median_predicted"),
            F.percentile_approx("actual_price", 0.5).alias("median_actual"),
            F.count(F.lit(1)).alias("n"),
        )
    )


def group_medians(joined: pd.DataFrame) -> pd.DataFrame:
    """:func:`price_by_group`'s table from the joined rows, with pandas.

    The medians are the lower ones, the value Spark's ``percentile_approx`` returns for the few
    thousand rows of a day; null groups are kept, with ``None`` as their key, as Spark keeps them.
    """
    by = joined.groupby(GROUP_KEYS, dropna=False, sort=False)
    table = pd.DataFrame(
        {
            "median_predicted": by["prediction"].quantile(0.5, interpolation="lower"),
            "median_actual": by["actual_price"].quantile(0.5, interpolation="lower"),
            "n": by.size().astype("int64"),
        }
    ).reset_index()
    table[GROUP_KEYS] = table[GROUP_KEYS].astype(object).where(table[GROUP_KEYS].notna(), None)
    return table


def day_price_by_group(
    lakehouse: LakehouseResource, run_date: str, snapshots: list[Any] | None, max_rows: int
) -> pd.DataFrame:
    """:func:`price_by_group` of ``run_date`` from the lakehouse, without Spark where it can.

    Where both tables' logs are on this machine's disk, the day's snapshots are known and its
    predictions are at most ``max_rows``, the day's rows of both are read with delta-rs (only
    the files whose statistics may match) and aggregated by :func:`group_medians`: no Spark job
    (1.5 s of them on 2019-10-14). Elsewhere, and for larger days, Spark aggregates.
    """
    day = dt.date.fromisoformat(run_date)
    scored = local_rows(lakehouse, PREDICTIONS, _SCORED, [("run_date", "=", day)], max_rows)
    if scored is not None and snapshots:
        grouped = local_rows(lakehouse, GOLD, _GROUPED, [("snapshot_date", "in", snapshots)], max_rows)
        if grouped is not None:
            keys = ["listing_id", "snapshot_date"]
            return group_medians(scored.dropna(subset=keys).merge(grouped.dropna(subset=keys), on=keys))
    return price_by_group(lakehouse.read(PREDICTIONS), lakehouse.read(GOLD), run_date, snapshots)


def drift_over_time(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per run date: dataset verdict, share drifted and model MAE; and per-column scores."""
    metrics = _dated(metrics)
    data = metrics[metrics["report"] == "data"]
    model = metrics[(metrics["report"] == "model") & (metrics["column"] == "mae")]
    days = (
        data.assign(dataset_drift=data["dataset_drift"].astype("boolean"))
        .groupby("run_date")
        .agg(
            dataset_drift=("dataset_drift", "max"),
            share_drifted=("share_drifted", "max"),
            report_path=("report_path", "first"),  # the first non-null: one report a day
        )
        .reset_index()
    )
    mae = model[["run_date", "score", "reference"]].rename(
        columns={"score": "model_mae", "reference": "reference_mae"}
    )
    status = days.merge(mae, on="run_date", how="left").sort_values("run_date", ignore_index=True)
    columns = data[["run_date", "column", "score", "drifted"]].sort_values(
        ["run_date", "column"], ignore_index=True
    )
    return status, columns


def quality_over_time(quality: pd.DataFrame) -> pd.DataFrame:
    """Failed rows per run date and rule (committed runs only)."""
    committed = _dated(quality[quality["committed"].fillna(False).astype(bool)])
    return (
        committed.groupby(["run_date", "rule", "action"], as_index=False)[["failed_rows", "total_rows"]]
        .sum()
        .sort_values(["run_date", "rule"], ignore_index=True)
    )


#: The columns of ``monitoring/drift_metrics`` and of ``ops/data_quality`` the charts read.
METRICS_COLUMNS = [
    "run_date",
    "snapshot_date",
    "report",
    "column",
    "score",
    "reference",
    "drifted",
    "dataset_drift",
    "share_drifted",
    "report_path",
    "model_version",
]
QUALITY_COLUMNS = ["run_date", "rule", "action", "failed_rows", "total_rows", "committed"]


def read_inputs(lakehouse: LakehouseResource) -> tuple[bool, pd.DataFrame | None, pd.DataFrame | None]:
    """Whether the predictions table exists, and the drift metrics and data-quality tables as pandas.

    The two small tables (a few dozen rows a day) are read once each and charted with pandas: from
    the Delta log and files without Spark where the lakehouse is on this machine's disk, with one
    Spark read elsewhere (charting them with Spark took about 30 Spark jobs of pivots and joins).
    """

    def small(table: Table, columns: list[str]) -> pd.DataFrame | None:
        return lakehouse.to_pandas(table, columns) if lakehouse.exists(table) else None

    return (
        lakehouse.exists(PREDICTIONS),
        small(DRIFT_METRICS, METRICS_COLUMNS),
        small(DATA_QUALITY, QUALITY_COLUMNS),
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
