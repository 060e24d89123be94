"""The market study: every backtest fold, with and without market context, with 80 % intervals.

``airbnb backtest --market`` runs it. Folds: the rolling origin of :func:`airbnb_assets.ml.train.backtest`
(train on the snapshots before k, evaluate on k), a long gap (train through 2017-04-02, evaluate
2019-10-14) and an inflation fold (2019-10-14's prices × 1.3, trained on what came before it).
Each fold is run with the model as it is (``base``), with what serves (``level``: the model's
predictions moved to the day's market and given the day's leave-one-out band,
:mod:`airbnb_assets.ml.calibration`) and with the market context of :mod:`airbnb_assets.ml.market`
as features (``market``). The baseline is the neighbourhood × room type median
of the evaluated day itself, leaving each listing's own price out (what a host could look up).

Two 80 % intervals are measured. ``coverage_80`` is the served one: for ``level``, the day's
leave-one-out band; for ``base`` and ``market`` (which use no price of the day), the out-of-time
band. ``oot_coverage_80`` is always the out-of-time band, the one a version carries (and the
drift report holds it to): the 10th and 90th percentiles of log(actual / predicted) of the fold
evaluated on the snapshot before k (a model trained before that snapshot); the first fold uses a
fixed-seed 20 % holdout of its training snapshot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from airbnb_assets.gold.features import TARGET
from airbnb_assets.ml import calibration, market, pipeline
from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC, TEXT
from airbnb_assets.ml.train import SEED, features_frame, sorted_rows

#: The interval's quantiles of log(actual / predicted).
INTERVAL = calibration.INTERVAL
#: ``base``: the model as it is; ``level``: what serves (moved to the day's level, the day's band);
#: ``market``: the market-relative model with the context features.
VARIANTS = ("base", "level", "market")


@dataclass(frozen=True)
class Fold:
    """Train on ``trained`` snapshots, evaluate on ``evaluated`` with its prices × ``inflation``."""

    name: str
    trained: tuple[str, ...]
    evaluated: str
    inflation: float = 1.0
    #: The fold whose residuals calibrate this one's interval (``None``: a holdout of the training rows).
    calibrated_by: str | None = None


def folds(dates: list[str]) -> list[Fold]:
    """The rolling folds of ``dates``, then the long-gap and inflation folds when those days exist."""
    out = [
        Fold(f"rolling {d}", tuple(dates[:i]), d, calibrated_by=f"rolling {dates[i - 1]}" if i > 1 else None)
        for i, d in enumerate(dates)
        if i > 0
    ]
    if "2017-04-02" in dates and "2019-10-14" in dates:
        through = tuple(d for d in dates if d <= "2017-04-02")
        out.append(Fold("long gap", through, "2019-10-14", calibrated_by="rolling 2017-04-02"))
    if "2019-10-14" in dates and len(dates) > 2:
        before = tuple(d for d in dates if d < "2019-10-14")
        out.append(Fold("inflation x1.3", before, "2019-10-14", 1.3, calibrated_by=f"rolling {before[-1]}"))
    return out


def model_inputs(rows: pd.DataFrame, variant: str) -> pd.DataFrame:
    """The contract columns, plus the market-context columns for the ``market`` variant."""
    frame = features_frame(rows)
    if variant == "market":
        for name in (*market.FEATURES, market.LEVEL):
            frame[name] = rows[name].to_numpy(dtype="float64")
    return frame


def fit_variant(rows: pd.DataFrame, variant: str, params: dict[str, Any] | None = None) -> Any:
    """Fit the model (``base``) or the market-relative model on it (``market``)."""
    rows = sorted_rows(rows)
    if variant == "market":
        inner = pipeline.build_pipeline([*NUMERIC, *market.FEATURES], CATEGORICAL, TEXT, params)
        model: Any = market.MarketRelativeRegressor(inner)
    else:
        model = pipeline.build_pipeline(NUMERIC, CATEGORICAL, TEXT, params)
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(model_inputs(rows, variant), rows[TARGET].to_numpy(dtype="float64"))
    return model


def day_group_median(rows: pd.DataFrame) -> np.ndarray:
    """Each row's neighbourhood × room type median on its own day without its own price."""
    key = rows["neighbourhood"].astype(str) + "\x1f" + rows["room_type"].astype(str)
    group, _ = market.loo_median(rows[TARGET].astype("float64"), key)
    room, _ = market.loo_median(rows[TARGET].astype("float64"), rows["room_type"])
    return np.where(np.isnan(group), room, group)


def evaluation(
    actual: np.ndarray,
    predicted: np.ndarray,
    baseline: np.ndarray,
    interval: tuple[np.ndarray, np.ndarray],
    band: np.ndarray,
) -> dict:
    """MAE, median AE, bias (median of prediction - price, USD and % of the median price), coverages.

    ``interval`` is the served interval's (low, high); ``band`` the out-of-time log quantiles.
    """
    error = predicted - actual
    return {
        "mae": round(float(np.mean(np.abs(error))), 2),
        "medae": round(float(np.median(np.abs(error))), 2),
        "bias": round(float(np.median(error)), 2),
        "bias_pct": round(100 * float(np.median(error)) / float(np.median(actual)), 1),
        "day_median_mae": round(float(np.nanmean(np.abs(baseline - actual))), 2),
        "coverage_80": round(100 * float(calibration.coverage(actual, *interval) or 0), 1),
        "oot_coverage_80": round(
            100
            * float(
                calibration.coverage(actual, predicted * np.exp(band[0]), predicted * np.exp(band[1])) or 0
            ),
            1,
        ),
    }


def _predict(model: Any, rows: pd.DataFrame, variant: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The variant's predictions, low and high (NaN: the variant has no band of its own).

    ``level`` is what serves, from the ``base`` model's predictions and the day's other prices.
    """
    predicted = model.predict(model_inputs(rows, "market" if variant == "market" else "base"))
    if variant == "level":
        served, low, high, _ = calibration.served(predicted, rows[TARGET].to_numpy("float64"))
        return served, low, high
    return predicted, np.full(len(predicted), np.nan), np.full(len(predicted), np.nan)


def _holdout_band(rows: pd.DataFrame, variant: str, params: dict[str, Any] | None) -> np.ndarray:
    """Interval quantiles from a fixed-seed 20 % holdout of ``rows`` (the first fold's calibration)."""
    rows = sorted_rows(rows)
    held = np.random.default_rng(SEED).random(len(rows)) < 0.2
    model = fit_variant(rows[~held], variant, params)
    predicted = _predict(model, rows[held], variant)[0]
    return np.array(calibration.band(rows[held][TARGET].to_numpy("float64"), predicted))


def _served_interval(
    predicted: np.ndarray, low: np.ndarray, high: np.ndarray, band: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The variant's own interval where it has one, else the out-of-time band around its predictions."""
    if np.isnan(low).all():
        return predicted * np.exp(band[0]), predicted * np.exp(band[1])
    return low, high


def market_backtest(
    labelled: pd.DataFrame, params: dict[str, Any] | None = None, variants: tuple[str, ...] = VARIANTS
) -> pd.DataFrame:
    """Every fold of :func:`folds`, for each variant: one row of errors, bias and coverage."""
    rows = labelled[labelled[TARGET].notna()].copy()
    rows["snapshot_date"] = rows["snapshot_date"].astype(str)
    rows = market.with_market_context(rows)
    dates = sorted(rows["snapshot_date"].unique())
    table = []
    residuals: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    models: dict[tuple[str, str], Any] = {}
    for fold in folds(dates):
        train_rows = rows[rows["snapshot_date"].isin(fold.trained)]
        day = rows[rows["snapshot_date"] == fold.evaluated].drop(columns=[*market.COLUMNS, market.SOURCE])
        day[TARGET] = day[TARGET] * fold.inflation
        day = day.join(market.market_context(day))  # the day's own market, own price left out
        actual = day[TARGET].to_numpy("float64")
        baseline = day_group_median(day)
        for variant in variants:
            started = time.perf_counter()
            fitted = "market" if variant == "market" else "base"
            key = (fitted, ",".join(fold.trained))
            if key not in models:  # level reuses the base model of the same training rows
                models[key] = fit_variant(train_rows, fitted, params)
            predicted, low, high = _predict(models[key], day, variant)
            if fold.calibrated_by is None:
                band = _holdout_band(train_rows, variant, params)
            else:
                band = np.array(calibration.band(*residuals[(variant, fold.calibrated_by)]))
            residuals[(variant, fold.name)] = (actual, predicted)  # the next fold's band
            table.append(
                {
                    "fold": fold.name,
                    "variant": variant,
                    "trained_on": f"{fold.trained[0]} .. {fold.trained[-1]}",
                    "evaluated_on": fold.evaluated + (f" x{fold.inflation}" if fold.inflation != 1 else ""),
                    "n_eval": len(day),
                    **evaluation(
                        actual, predicted, baseline, _served_interval(predicted, low, high, band), band
                    ),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
    return pd.DataFrame(table)
