"""What serves: the model's prediction moved to the day's market, with an 80 % interval.

A model trained on earlier snapshots carries their price level, and its errors their spread. The
scored snapshot says where the market is now: over the day's *other* priced rows (leave-one-out,
so a listing's own price never enters its own prediction or band), the 10th, 50th and 90th
percentiles of log(price / model prediction) say how far the market sits from the model today and
how far listings scatter around it. The served prediction is the model's times exp(median); the
interval is the model's times exp(p10) and exp(p90) (jackknife conformal with a fixed model: the
model never saw the day, so the others' ratios are exchangeable with the row's own).

A day with fewer than :data:`MIN_PRICED` priced rows says nothing of its market: the model's own
level serves and the band is the version's out-of-time one (the 10th and 90th percentiles of
log(price / served prediction) on the snapshot it was evaluated on, version tags :data:`LOW_TAG`
and :data:`HIGH_TAG`), recorded as ``level_source = training``. That band's coverage on a priced
day is also what the drift report holds the version to. The market study
(``airbnb backtest --market``, :mod:`airbnb_assets.ml.backtest`) measures both on every fold.

:class:`LooQuantile` is a leave-one-out quantile of a day as a handful of thresholds, so Spark
applies it to millions of rows as one ``CASE`` expression; :func:`served` is the same in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: The interval's quantiles (an 80 % interval).
INTERVAL = (0.10, 0.90)
#: Fewer priced rows on a day: the model's own level serves (``level_source = training``).
MIN_PRICED = 30
#: Version tags holding the interval's log quantiles.
LOW_TAG, HIGH_TAG = "interval_log_p10", "interval_log_p90"
#: ``level_source`` values: the day's other listings, or the model's training snapshots.
DAY, TRAINING = "snapshot", "training"
#: Spark column of the model's predictions: log(price / model prediction), null when unpriced.
RATIO = "_ratio"


@dataclass(frozen=True)
class LooQuantile:
    """A day's leave-one-out ``q``-quantile of a value, as steps: ``value <= bound`` → that quantile.

    A row whose value is in the sample takes the quantile of the sample without it, which depends
    only on where its value falls among the order statistics around the quantile's position;
    ``whole`` is the quantile of the whole sample (for rows outside it: the unpriced ones).
    """

    q: float
    bounds: tuple[float, ...]
    quantiles: tuple[float, ...]
    whole: float

    @classmethod
    def of(cls, values: np.ndarray, q: float) -> LooQuantile:
        """The rule of a sample of at least 2 values (NaNs ignored), quantiles interpolated linearly."""
        v = np.sort(np.asarray(values, dtype="float64")[~np.isnan(values)])
        n = len(v)
        if n < 2:
            raise ValueError(f"a leave-one-out quantile needs at least 2 values, got {n}")
        # Without rank r the quantile reads the two order statistics around q * (n - 2): it is the
        # same for every r below them and every r above them, so these ranks cover every case.
        centre = int(np.floor(q * (n - 2)))
        ranks = sorted({0, n - 1, *range(max(0, centre - 1), min(n, centre + 4))})
        steps = [(float(v[r]), float(np.quantile(np.delete(v, r), q))) for r in ranks]
        bounds, quantiles = [], []
        for i, (bound, value) in enumerate(steps):
            if i + 1 < len(steps) and steps[i + 1][1] == value:
                continue  # the next step gives the same quantile: its bound covers both
            bounds.append(bound)
            quantiles.append(value)
        return cls(q, tuple(bounds[:-1]), tuple(quantiles), float(np.quantile(v, q)))

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Each value's leave-one-out quantile (``NaN`` values: the whole sample's)."""
        values = np.asarray(values, dtype="float64")
        index = np.searchsorted(np.asarray(self.bounds), values, side="left")
        return np.where(np.isnan(values), self.whole, np.asarray(self.quantiles)[index])

    def column(self, value: Column) -> Column:
        """The same as a Spark expression over ``value`` (null: the whole sample's quantile)."""
        from pyspark.sql import functions as F

        expr = F.when(value.isNull(), F.lit(self.whole))
        for bound, quantile in zip(self.bounds, self.quantiles, strict=False):
            expr = expr.when(value <= F.lit(bound), F.lit(quantile))
        return expr.otherwise(F.lit(self.quantiles[-1]))


@dataclass(frozen=True)
class DayCalibration:
    """How a day's model predictions become what serves: the level and the band, in log dollars.

    From the day's priced rows (``source`` = :data:`DAY`): leave-one-out quantiles 10 / 50 / 90 of
    log(price / model prediction). Fewer than :data:`MIN_PRICED`: no move and the version's
    out-of-time band (``source`` = :data:`TRAINING`; no band when the version has none).
    """

    source: str
    n_priced: int
    low: LooQuantile | float | None
    level: LooQuantile | float
    high: LooQuantile | float | None

    @classmethod
    def of(
        cls, ratios: np.ndarray, fallback: tuple[float, float] | None, min_n: int = MIN_PRICED
    ) -> DayCalibration:
        """The calibration of a day from its rows' log(price / model prediction) (NaN: unpriced)."""
        ratios = np.asarray(ratios, dtype="float64")
        n = int((~np.isnan(ratios)).sum())
        if n < max(min_n, 2):
            low, high = fallback if fallback is not None else (None, None)
            return cls(TRAINING, n, low, 0.0, high)
        low_q, high_q = INTERVAL
        return cls(
            DAY, n, LooQuantile.of(ratios, low_q), LooQuantile.of(ratios, 0.5), LooQuantile.of(ratios, high_q)
        )

    def logs(self, ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's (low, level, high) log offsets from the model's prediction (NaN: no band)."""
        ratios = np.asarray(ratios, dtype="float64")

        def one(part: LooQuantile | float | None) -> np.ndarray:
            if isinstance(part, LooQuantile):
                return part.apply(ratios)
            return np.full(len(ratios), np.nan if part is None else part)

        return one(self.low), one(self.level), one(self.high)

    def columns(self, ratio: Column) -> tuple[Column, Column, Column]:
        """The same as Spark expressions over ``ratio`` (null: unpriced row)."""
        from pyspark.sql import functions as F

        def one(part: LooQuantile | float | None) -> Column:
            if isinstance(part, LooQuantile):
                return part.column(ratio)
            return F.lit(part).cast("double")

        return one(self.low), one(self.level), one(self.high)


def log_ratio(prices: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """log(price / prediction), ``NaN`` where the price is missing or not positive."""
    prices = np.asarray(prices, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prices > 0, np.log(prices / np.asarray(predicted, dtype="float64")), np.nan)


def served(
    predicted: np.ndarray,
    prices: np.ndarray,
    fallback: tuple[float, float] | None = None,
    min_n: int = MIN_PRICED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(prediction, p10, p90, level source) served for a day's rows, each row's own price left out."""
    predicted = np.asarray(predicted, dtype="float64")
    ratio = log_ratio(prices, predicted)
    calibration = DayCalibration.of(ratio, fallback, min_n)
    low, level, high = calibration.logs(ratio)
    return predicted * np.exp(level), predicted * np.exp(low), predicted * np.exp(high), calibration.source


def band(prices: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """The interval's log quantiles from out-of-time residuals: (p10, p90) of log(price / prediction)."""
    ratio = log_ratio(prices, predicted)
    ratio = ratio[~np.isnan(ratio)]
    if len(ratio) == 0:
        raise ValueError("no priced rows to calibrate the interval on")
    low, high = np.quantile(ratio, INTERVAL)
    return float(low), float(high)


def coverage(prices: np.ndarray, low: np.ndarray, high: np.ndarray) -> float | None:
    """Share of priced rows inside their interval (``None``: no priced row with an interval)."""
    prices, low, high = (np.asarray(a, dtype="float64") for a in (prices, low, high))
    keep = (prices > 0) & ~np.isnan(low) & ~np.isnan(high)
    return float(np.mean((prices[keep] >= low[keep]) & (prices[keep] <= high[keep]))) if keep.any() else None


def ratio_column() -> Column:
    """log(actual_price / model_prediction) as a Spark column, null when the row has no positive price."""
    from pyspark.sql import functions as F

    price = F.col("actual_price")
    return F.when(price > 0, F.log(price / F.col("model_prediction")))


def day_ratios(predictions: DataFrame) -> np.ndarray:
    """The priced rows' :data:`RATIO` values of a day's model predictions, on the driver (8 MB / 1M rows)."""
    from pyspark.sql import functions as F

    row = predictions.agg(F.collect_list(RATIO).alias("ratios")).first()  # nulls are left out
    return np.asarray(row["ratios"] if row is not None else [], dtype="float64")


def served_columns(calibration: DayCalibration) -> list[Column]:
    """``prediction``, ``prediction_p10``, ``prediction_p90``, ``model_prediction``, ``level_source``."""
    from pyspark.sql import functions as F

    low, level, high = calibration.columns(F.col(RATIO))
    model = F.col("model_prediction")
    return [
        (model * F.exp(level)).alias("prediction"),
        (model * F.exp(low)).alias("prediction_p10"),
        (model * F.exp(high)).alias("prediction_p90"),
        model.alias("model_prediction"),
        F.lit(calibration.source).alias("level_source"),
    ]
