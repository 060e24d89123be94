"""Model drift: the day's prediction quality against the model's out-of-sample reference, prediction drift.

MAE / RMSE / R² are computed on every labelled
row of the day (a null ``actual_price`` is an unlabelled row) with the same definitions as the
training's validation metrics (:func:`airbnb_assets.ml.train.regression_metrics`). The model that
scored the day was trained only on earlier snapshots, and its reference metrics are out of sample
too (its configuration trained before, and evaluated on, the snapshot it was promoted on); it is
*degraded* when the MAE exceeds the reference MAE by more than :data:`MAE_TOLERANCE`, and also when
the version's own out-of-time 80 % band covers a share of the priced rows more than
:data:`COVERAGE_TOLERANCE` away from 80 % (its errors no longer scatter as they did), or when the
market sits more than :data:`LEVEL_TOLERANCE` away from the model's level (the median of price /
model prediction: the served predictions follow the market, the model itself is stale). The prediction
distribution is compared with the previous predictions by Evidently's column drift (Wasserstein
distance normed by the previous predictions' std, Evidently's default threshold 0.1). The Evidently
reports run on at most ``max_rows`` rows sampled with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from airbnb_assets.monitoring.drift import evidently as ev
from airbnb_assets.monitoring.drift.evidently import MAX_ROWS, SEED, ColumnDrift, number

#: The model is degraded when the day's MAE exceeds its out-of-sample reference MAE by more than this.
MAE_TOLERANCE = 0.10
#: Degraded when the version's band covers a share this far from 80 % (0.10: outside 70-90 %).
COVERAGE_TOLERANCE = 0.10
#: Degraded when the median of price / model prediction is more than this far from 1.
LEVEL_TOLERANCE = 0.20
#: With fewer labelled rows the performance is reported but not judged.
MIN_LABELLED_ROWS = 100
#: Evidently drift method for the prediction distribution.
PREDICTION_DRIFT_METHOD = "wasserstein"
#: The predictions drifted when their normed Wasserstein distance is at least this (Evidently's default).
PREDICTION_DRIFT_THRESHOLD = 0.1
#: Column names of the scored table.
PREDICTION, ACTUAL = "prediction", "actual_price"
MODEL_PREDICTION, LOW, HIGH = "model_prediction", "prediction_p10", "prediction_p90"


@dataclass
class ModelDriftResult:
    """Outcome of :func:`model_drift`.

    ``metrics`` (``mae``, ``rmse``, ``r2``, ``mape`` on the labelled rows) is ``None`` with fewer than
    two labelled rows; ``judged`` is false below ``min_labelled`` labelled rows, and then ``degraded``
    is false. ``prediction_drift`` is ``None`` without previous predictions. ``evidence`` holds what
    the verdict also weighs (``None`` when not measurable): ``coverage_80`` (the served interval's),
    ``band_coverage_80`` (the version's out-of-time band's) and ``market_level``; ``reasons`` names
    each rule that found the model degraded.
    """

    n_current: int
    n_labelled: int
    metrics: dict[str, float] | None
    reference_metrics: dict[str, float]
    tolerance: float
    mae_limit: float
    judged: bool
    degraded: bool
    prediction_drift: ColumnDrift | None
    n_previous: int
    html: str = field(repr=False)
    prediction_drift_html: str = field(repr=False)
    evidence: dict[str, float | None] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """JSON-serialisable summary (no HTML), with the ratios to the reference metrics."""
        ref, cur = self.reference_metrics, self.metrics or {}
        ratios = {f"{k}_ratio": number(cur[k] / ref[k]) for k in ("mae", "rmse") if k in cur and ref.get(k)}
        deltas = {"r2_delta": number(cur["r2"] - ref["r2"])} if "r2" in cur and "r2" in ref else {}
        return {
            "degraded": bool(self.degraded),
            "judged": bool(self.judged),
            "n_current": self.n_current,
            "n_labelled": self.n_labelled,
            "metrics": {k: number(v) for k, v in cur.items()} if self.metrics is not None else None,
            "reference_metrics": {k: number(v) for k, v in ref.items()},
            "tolerance": number(self.tolerance),
            "mae_limit": number(self.mae_limit),
            **ratios,
            **deltas,
            "prediction_drift": self.prediction_drift.as_json() if self.prediction_drift else None,
            "n_previous": self.n_previous,
            **{k: number(v) if v is not None else None for k, v in self.evidence.items()},
            "reasons": list(self.reasons),
        }


def model_drift(
    current: pd.DataFrame,
    reference_metrics: dict[str, float],
    *,
    previous_predictions: pd.Series | None = None,
    band: tuple[float, float] | None = None,
    tolerance: float = MAE_TOLERANCE,
    max_rows: int = MAX_ROWS,
    seed: int = SEED,
    min_labelled: int = MIN_LABELLED_ROWS,
    prediction_method: str = PREDICTION_DRIFT_METHOD,
    prediction_threshold: float = PREDICTION_DRIFT_THRESHOLD,
) -> ModelDriftResult:
    """Quality of the day's predictions against the model's out-of-sample reference, and prediction drift.

    Args:
        current: Scored rows with ``prediction`` and ``actual_price`` (null when unlabelled, or
            absent), and when present ``model_prediction``, ``prediction_p10`` and
            ``prediction_p90``; only labelled rows count for the metrics.
        reference_metrics: The model's out-of-sample metrics: ``mae`` (required), ``rmse``, ``r2``.
        previous_predictions: Earlier predictions to test the prediction distribution against.
        band: The version's out-of-time band (log quantiles 10 and 90 of price / served
            prediction), ``None`` for a version without one.
        tolerance: Degraded when MAE > reference MAE × (1 + tolerance).
        max_rows: Rows sampled (fixed seed) for the Evidently reports; metrics use every labelled row.
        seed: Sampling seed.
        min_labelled: With fewer labelled rows the performance is not judged.
        prediction_method: Evidently method for the prediction drift.
        prediction_threshold: Its threshold.

    Returns:
        Metrics, verdicts and Evidently's regression and prediction-drift HTML.

    Raises:
        ValueError: Without a ``prediction`` column or a positive reference ``mae``.
    """
    from airbnb_assets.ml.train import regression_metrics

    if PREDICTION not in current:
        raise ValueError(f"model drift needs a {PREDICTION!r} column")
    if not reference_metrics.get("mae", 0) > 0:
        raise ValueError(f"reference_metrics needs a positive 'mae', got {reference_metrics}")
    predicted = ev.numeric(current[PREDICTION])
    actual = ev.numeric(current[ACTUAL]) if ACTUAL in current else pd.Series(np.nan, index=current.index)
    labelled = pd.DataFrame({PREDICTION: predicted, ACTUAL: actual}).dropna()
    mae_limit = float(reference_metrics["mae"]) * (1.0 + tolerance)
    metrics = regression_metrics(labelled[ACTUAL], labelled[PREDICTION]) if len(labelled) >= 2 else None
    judged = metrics is not None and len(labelled) >= min_labelled
    evidence = interval_evidence(current, band)
    reasons = [
        reason
        for reason, found in (
            ("mae", metrics is not None and metrics["mae"] > mae_limit),
            ("coverage", _off(evidence["band_coverage_80"], 0.8, COVERAGE_TOLERANCE)),
            ("level", _off(evidence["market_level"], 1.0, LEVEL_TOLERANCE)),
        )
        if judged and found
    ]
    report_html = ""
    if metrics is not None:
        sample = ev.sample_rows(labelled, max_rows, seed)
        report_html = ev.regression_html(sample, target=ACTUAL, prediction=PREDICTION, mae_limit=mae_limit)

    drift, drift_html, n_previous = None, "", 0
    previous = ev.numeric(previous_predictions).dropna() if previous_predictions is not None else None
    if previous is not None and len(previous) and predicted.notna().any():
        prev_s = ev.sample_rows(previous.rename(PREDICTION).to_frame(), max_rows, seed)[PREDICTION]
        cur_s = ev.sample_rows(predicted.dropna().rename(PREDICTION).to_frame(), max_rows, seed)[PREDICTION]
        drift, drift_html = ev.series_drift(
            prev_s, cur_s, method=prediction_method, threshold=prediction_threshold
        )
        n_previous = len(prev_s)
    return ModelDriftResult(
        n_current=len(current),
        n_labelled=len(labelled),
        metrics=metrics,
        reference_metrics={k: float(v) for k, v in reference_metrics.items()},
        tolerance=tolerance,
        mae_limit=mae_limit,
        judged=judged,
        degraded=bool(reasons),
        prediction_drift=drift,
        n_previous=n_previous,
        html=report_html,
        prediction_drift_html=drift_html,
        evidence=evidence,
        reasons=reasons,
    )


def interval_evidence(current: pd.DataFrame, band: tuple[float, float] | None) -> dict[str, float | None]:
    """Coverage of the served interval and of the version's band, and the market level, on priced rows."""
    from airbnb_assets.ml.calibration import coverage

    def column(name: str) -> np.ndarray:
        return (
            ev.numeric(current[name]).to_numpy("float64")
            if name in current
            else np.full(len(current), np.nan)
        )

    actual, served = column(ACTUAL), column(PREDICTION)
    own = column(MODEL_PREDICTION)
    priced = (actual > 0) & (own > 0)
    return {
        "coverage_80": coverage(actual, column(LOW), column(HIGH)),
        "band_coverage_80": (
            coverage(actual, served * np.exp(band[0]), served * np.exp(band[1])) if band is not None else None
        ),
        "market_level": float(np.median(actual[priced] / own[priced])) if priced.any() else None,
    }


def _off(value: float | None, target: float, tolerance: float) -> bool:
    return value is not None and abs(value - target) > tolerance
