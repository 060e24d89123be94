"""What serves, on real rows: the level move, the 80 % band, leave-one-out, the fallback, Spark = numpy.

The "model" here is the group-median baseline fitted on 2017-03-02 (fast and deterministic); the
calibration does not care which model produced the predictions it moves.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.ml import calibration
from airbnb_assets.ml.calibration import RATIO, DayCalibration, LooQuantile, day_ratios
from airbnb_assets.ml.scoring import serve
from airbnb_assets.ml.train import GroupMedianBaseline


@pytest.fixture(scope="module")
def april(labelled: pd.DataFrame) -> pd.DataFrame:
    """2017-04-02's priced rows with the March group medians as the model's prediction."""
    march = labelled[labelled.snapshot_date.astype(str) == "2017-03-02"]
    day = labelled[labelled.snapshot_date.astype(str) == "2017-04-02"].reset_index(drop=True)
    return day.assign(model_prediction=GroupMedianBaseline.fit(march).predict(day))


def test_leave_one_out_quantiles_match_a_brute_force_on_random_samples() -> None:
    rng = np.random.default_rng(3)
    for trial in range(400):
        n = int(rng.integers(2, 40))
        values = rng.integers(0, 6, n).astype(float) if trial % 2 else rng.normal(size=n)  # ties, or none
        for q in (0.1, 0.5, 0.9):
            got = LooQuantile.of(values, q).apply(values)
            expected = [np.quantile(np.delete(values, i), q) for i in range(n)]
            assert np.allclose(got, expected), (q, values)
    assert LooQuantile.of(np.array([1.0, 2.0, 3.0]), 0.5).apply(np.array([np.nan]))[0] == 2.0


def test_served_prices_follow_the_day_and_cover_80_percent(april: pd.DataFrame) -> None:
    prices = april.price.to_numpy("float64")
    inflated = prices * 1.3  # the market moved after the model was trained
    for day_prices in (prices, inflated):
        served, low, high, source = calibration.served(april.model_prediction.to_numpy(), day_prices)
        assert source == calibration.DAY
        bias = np.median(served - day_prices) / np.median(day_prices)
        assert abs(bias) < 0.02  # the median error is near 0 at either level
        assert 0.78 <= calibration.coverage(day_prices, low, high) <= 0.82  # type: ignore[operator]
        assert (low <= served).all() and (served <= high).all()
    unmoved = np.mean(np.abs(april.model_prediction - inflated))
    assert (
        np.mean(np.abs(calibration.served(april.model_prediction.to_numpy(), inflated)[0] - inflated))
        < unmoved
    )


def test_a_listings_own_price_never_enters_its_prediction_or_band(april: pd.DataFrame) -> None:
    jitter = np.exp(np.random.default_rng(5).normal(0, 0.01, len(april)))  # group medians tie a lot
    predicted, prices = april.model_prediction.to_numpy() * jitter, april.price.to_numpy("float64")
    before = np.column_stack(calibration.served(predicted, prices)[:3])
    target = int(np.argmin(prices / predicted))  # the cheapest against its prediction ...
    changed = prices.copy()
    changed[target] = (
        predicted[target] * 1_000
    )  # ... becomes the dearest: every percentile of the others moves
    after = np.column_stack(calibration.served(predicted, changed)[:3])
    assert np.array_equal(before[target], after[target])  # its own prediction and band: unchanged
    assert not np.array_equal(np.delete(before, target, 0), np.delete(after, target, 0))  # the others' move


def test_a_day_without_prices_serves_the_model_and_the_versions_band() -> None:
    predicted = np.array([100.0, 250.0, 80.0])
    served, low, high, source = calibration.served(predicted, np.full(3, np.nan), fallback=(-0.5, 0.4))
    assert source == calibration.TRAINING and np.array_equal(served, predicted)
    assert np.allclose(low, predicted * np.exp(-0.5)) and np.allclose(high, predicted * np.exp(0.4))
    served, low, high, _ = calibration.served(predicted, np.full(3, np.nan))  # a version without a band
    assert np.isnan(low).all() and np.isnan(high).all() and np.array_equal(served, predicted)


def test_spark_serves_exactly_what_numpy_computes(spark, april: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    rows = april[["listing_id", "snapshot_date", "model_prediction", "price"]].copy()
    rows.loc[rows.index[:40], "price"] = np.nan  # unpriced rows take the whole day's quantiles
    frame = spark.createDataFrame(rows).select(
        "listing_id",
        "snapshot_date",
        "model_prediction",
        F.col("price").alias("actual_price"),
        F.lit("airbnb_price").alias("model_name"),
        F.lit("1").alias("model_version"),
        F.lit(dt.date(2017, 4, 2)).alias("run_date"),
        F.when(F.col("price") > 0, F.log(F.col("price") / F.col("model_prediction"))).alias(RATIO),
    )
    ratios = day_ratios(frame)
    assert len(ratios) == rows.price.notna().sum()
    day = DayCalibration.of(ratios, None)
    got = serve(frame, day).toPandas().sort_values("listing_id")
    expected = calibration.served(rows.model_prediction.to_numpy(), rows.price.to_numpy("float64"))
    order = np.argsort(rows.listing_id.to_numpy())
    for column, values in zip(("prediction", "prediction_p10", "prediction_p90"), expected[:3], strict=False):
        assert np.allclose(got[column].to_numpy(), values[order], rtol=1e-12), column
    assert set(got.level_source) == {calibration.DAY}


def test_out_of_time_band_is_the_residuals_quantiles() -> None:
    prices = np.array([100.0, 110.0, 90.0, 200.0, 50.0, np.nan])
    predicted = np.full(6, 100.0)
    low, high = calibration.band(prices, predicted)
    assert (low, high) == pytest.approx(tuple(np.quantile(np.log(prices[:5] / 100.0), (0.1, 0.9))))
    with pytest.raises(ValueError, match="no priced rows"):
        calibration.band(np.full(2, np.nan), np.ones(2))


def test_spark_scores_a_day_without_prices_with_the_versions_band(spark, april: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    rows = april[["listing_id", "snapshot_date", "model_prediction"]].head(500)
    frame = spark.createDataFrame(rows).select(
        "*",
        F.lit(None).cast("double").alias("actual_price"),
        F.lit("airbnb_price").alias("model_name"),
        F.lit("1").alias("model_version"),
        F.lit(dt.date(2017, 4, 2)).alias("run_date"),
        F.lit(None).cast("double").alias(RATIO),
    )
    day = DayCalibration.of(day_ratios(frame), (-0.4, 0.5))  # no priced row: the version's band
    got = serve(frame, day).toPandas()
    assert len(got) == 500 and set(got.level_source) == {calibration.TRAINING}
    assert np.allclose(got.prediction, got.model_prediction)  # the model's own level
    assert np.allclose(got.prediction_p10, got.prediction * np.exp(-0.4))
    assert np.allclose(got.prediction_p90, got.prediction * np.exp(0.5))
    no_band = serve(frame, DayCalibration.of(day_ratios(frame), None)).toPandas()
    assert no_band.prediction_p10.isna().all() and no_band.prediction.notna().all()
