"""The day's prediction statistics: one aggregate of real rows, recorded as drift_metrics rows."""

import datetime as dt

import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.ml.prediction_stats import day_stats, stats_rows
from airbnb_assets.platform.tables import PREDICTION_STATISTICS, PREDICTION_STATS_REPORT

DAY = dt.date(2017, 4, 2)


def test_day_stats_match_pandas_on_real_rows(snapshot_gold, snapshot_gold_rows: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    day = snapshot_gold.filter(F.col("snapshot_date") == F.lit(DAY)).select(
        (F.col("price") * 1.1 + 3).alias("prediction"), F.col("price").alias("actual_price")
    )
    stats = day_stats(day).first().asDict()
    prices = snapshot_gold_rows.loc[snapshot_gold_rows.snapshot_date == DAY, "price"]
    predicted = prices * 1.1 + 3
    assert stats["rows_scored"] == len(prices)
    assert stats["mean_actual"] == pytest.approx(prices.mean())
    assert stats["median_actual"] == pytest.approx(prices.median())  # exact median, nulls ignored
    assert stats["mean_predicted"] == pytest.approx(predicted.mean())
    assert stats["median_predicted"] == pytest.approx(predicted.median())

    rows = stats_rows(DAY, DAY, "3", stats, quarantined=2)
    assert [r["column"] for r in rows] == list(PREDICTION_STATISTICS)
    assert {r["report"] for r in rows} == {PREDICTION_STATS_REPORT} and {
        r["model_version"] for r in rows
    } == {"3"}
    by_name = {r["column"]: r["score"] for r in rows}
    assert by_name["rows_quarantined"] == 2.0 and by_name["rows_scored"] == float(len(prices))
