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
    """One row: every statistic of :data:`PREDICTION_STATISTICS` but ``rows_quarantined``.

    Exact medians; ``coverage_80`` is the share of priced rows inside their interval and
    ``market_level`` the median of price / model prediction over the priced rows (null without
    priced rows or, for the coverage, without a band).
    """
    priced = F.col("actual_price") > 0
    inside = (F.col("actual_price") >= F.col("prediction_p10")) & (
        F.col("actual_price") <= F.col("prediction_p90")
    )
    banded = priced & F.col("prediction_p10").isNotNull() & F.col("prediction_p90").isNotNull()
    return predictions.agg(
        F.count(F.lit(1)).alias("rows_scored"),
        F.avg("prediction").alias("mean_predicted"),
        F.expr("percentile(prediction, 0.5)").alias("median_predicted"),
        F.avg("actual_price").alias("mean_actual"),
        F.expr("percentile(actual_price, 0.5)").alias("median_actual"),
        F.expr("percentile(prediction_p10, 0.5)").alias("median_p10"),
        F.expr("percentile(prediction_p90, 0.5)").alias("median_p90"),
        F.avg(F.when(banded, inside.cast("double"))).alias("coverage_80"),
        F.percentile(F.when(priced, F.col("actual_price") / F.col("model_prediction")), F.lit(0.5)).alias(
            "market_level"
        ),
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
