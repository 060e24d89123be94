"""The day's prediction statistics: one aggregate of real rows, recorded as drift_metrics rows."""

import datetime as dt

import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.ml.prediction_stats import day_stats, stats_rows
from airbnb_assets.platform.tables import PREDICTION_STATISTICS, PREDICTION_STATS_REPORT

DAY = dt.date(2017, 4, 2)


def test_day_stats_match_pandas_on_real_rows(snapshot_gold, snapshot_gold_rows: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    prediction = F.coalesce(F.col("price"), F.lit(150.0)) * 1.1 + 3
    day = snapshot_gold.filter(F.col("snapshot_date") == F.lit(DAY)).select(
        prediction.alias("prediction"),
        (prediction * 0.8).alias("prediction_p10"),
        (prediction * 1.15).alias("prediction_p90"),
        (prediction / 1.25).alias("model_prediction"),
        F.col("price").alias("actual_price"),
    )
    stats = day_stats(day).first().asDict()
    prices = snapshot_gold_rows.loc[snapshot_gold_rows.snapshot_date == DAY, "price"]
    predicted = prices.fillna(150.0) * 1.1 + 3
    assert stats["rows_scored"] == len(prices)
    assert stats["mean_actual"] == pytest.approx(prices.mean())
    assert stats["median_actual"] == pytest.approx(prices.median())  # exact median, nulls ignored
    assert stats["mean_predicted"] == pytest.approx(predicted.mean())
    assert stats["median_predicted"] == pytest.approx(predicted.median())
    assert stats["median_p10"] == pytest.approx((predicted * 0.8).median())
    assert stats["median_p90"] == pytest.approx((predicted * 1.15).median())
    priced = prices > 0
    inside = (prices >= predicted * 0.8) & (prices <= predicted * 1.15)
    assert stats["coverage_80"] == pytest.approx(inside[priced].mean())  # priced rows only
    assert stats["market_level"] == pytest.approx((prices / (predicted / 1.25))[priced].median())

    rows = stats_rows(DAY, DAY, "3", stats, quarantined=2)
    assert [r["column"] for r in rows] == list(PREDICTION_STATISTICS)
    assert {r["report"] for r in rows} == {PREDICTION_STATS_REPORT} and {
        r["model_version"] for r in rows
    } == {"3"}
    by_name = {r["column"]: r["score"] for r in rows}
    assert by_name["rows_quarantined"] == 2.0 and by_name["rows_scored"] == float(len(prices))
