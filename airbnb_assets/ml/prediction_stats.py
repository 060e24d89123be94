"""The day's prediction statistics, computed once when the day is scored.

:func:`day_stats` aggregates the day's written predictions in one pass; :func:`stats_rows` turns
the result into ``monitoring/drift_metrics`` rows with ``report = "predictions"`` (one per
statistic), which the predictions asset writes for its day. The dashboard's price history and the
drift report's "previous day" read these few rows per day instead of every prediction ever made.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from airbnb_assets.platform.tables import PREDICTION_STATISTICS, PREDICTION_STATS_REPORT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def day_stats(predictions: DataFrame) -> DataFrame:
    """One row: scored rows, mean and (exact) median of the predicted and of the actual prices."""
    return predictions.agg(
        F.count(F.lit(1)).alias("rows_scored"),
        F.avg("prediction").alias("mean_predicted"),
        F.expr("percentile(prediction, 0.5)").alias("median_predicted"),
        F.avg("actual_price").alias("mean_actual"),
        F.expr("percentile(actual_price, 0.5)").alias("median_actual"),
    )


def stats_rows(
    day: dt.date, snapshot: dt.date, version: str, stats: dict[str, Any], quarantined: int
) -> list[dict[str, Any]]:
    """``monitoring/drift_metrics`` rows (``report = "predictions"``) of a day's statistics."""
    values = {**stats, "rows_quarantined": quarantined}
    return [
        {
            "run_date": day,
            "snapshot_date": snapshot,
            "report": PREDICTION_STATS_REPORT,
            "column": name,
            "method": method,
            "score": None if values.get(name) is None else float(values[name]),
            "threshold": None,
            "reference": None,
            "drifted": None,
            "dataset_drift": None,
            "share_drifted": None,
            "model_version": version,
            "report_path": None,
        }
        for name, method in PREDICTION_STATISTICS.items()
    ]
