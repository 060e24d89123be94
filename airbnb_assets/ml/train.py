"""Training: fit and evaluate the model out of time, the group-median baseline, metrics, backtest.

The estimator itself is built in :mod:`airbnb_assets.ml.pipeline` (title TF-IDF ridge stacked out
of fold into gradient boosting on log price). Every metric here is out of sample: a model is
scored only on rows it was not fitted on (the latest snapshot, or a fixed-seed holdout when there
is a single one). How it compares with the group-median baseline on each snapshot is the model
card's backtest table (``airbnb backtest``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    median_absolute_error,
    r2_score,
)
from threadpoolctl import threadpool_limits

from airbnb_assets.gold.features import KEYS, TARGET
from airbnb_assets.ml import calibration, pipeline
from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC, TEXT

#: Hyper-parameters of the model (logged to MLflow).
PARAMS: dict[str, Any] = pipeline.PARAMS
#: Share of listings held out when only one labelled snapshot exists.
FALLBACK_VALIDATION_SHARE = 0.2
SEED = 42


def build_pipeline(params: dict[str, Any] | None = None) -> pipeline.LogPriceRegressor:
    """The unfitted model over the feature contract (see :func:`airbnb_assets.ml.pipeline.build_pipeline`)."""
    return pipeline.build_pipeline(NUMERIC, CATEGORICAL, TEXT, params)


def features_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract columns with their contract dtypes (float64 / object), in contract order."""
    out = pd.DataFrame(index=frame.index)
    for name in NUMERIC:
        out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64") if name in frame else np.nan
    for name in [*CATEGORICAL, *TEXT]:
        out[name] = frame[name].astype(object) if name in frame else None
    return out


def regression_metrics(actual: pd.Series, predicted: np.ndarray | pd.Series) -> dict[str, float]:
    """MAE, median absolute error, RMSE, R² and MAPE of predictions against actual prices."""
    return {
        "mae": float(mean_absolute_error(actual, predicted)),
        "medae": float(median_absolute_error(actual, predicted)),
        "rmse": float(np.sqrt(mean_squared_error(actual, predicted))),
        "r2": float(r2_score(actual, predicted)),
        "mape": float(mean_absolute_percentage_error(actual, predicted)),
    }


@dataclass
class GroupMedianBaseline:
    """Median price per neighbourhood × room type (then per room type, then overall)."""

    by_group: dict[tuple[Any, Any], float]
    by_room: dict[Any, float]
    overall: float

    @classmethod
    def fit(cls, train: pd.DataFrame) -> GroupMedianBaseline:
        """Learn the medians from labelled training rows."""
        return cls(
            by_group=dict(train.groupby(["neighbourhood", "room_type"])[TARGET].median().items()),  # type: ignore[arg-type]
            by_room=train.groupby("room_type")[TARGET].median().to_dict(),
            overall=float(train[TARGET].median()),
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predict the group median of each row."""
        return np.array(
            [
                self.by_group.get((n, r), self.by_room.get(r, self.overall))
                for n, r in zip(frame["neighbourhood"], frame["room_type"], strict=True)
            ],
            dtype="float64",
        )


def split_validation(labelled: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Out of time: train on the snapshots before the latest, evaluate on the latest.

    With a single snapshot there is no "before": a fixed-seed 20 % of its listings is held out.
    """
    dates = sorted(labelled["snapshot_date"].unique())
    if len(dates) >= 2:
        latest = dates[-1]
        return (
            labelled[labelled.snapshot_date != latest],
            labelled[labelled.snapshot_date == latest],
            f"out of time: trained on snapshots before {latest}, evaluated on {latest}",
        )
    rng = np.random.default_rng(SEED)
    held = rng.random(len(labelled)) < FALLBACK_VALIDATION_SHARE
    return (
        labelled[~held],
        labelled[held],
        f"single snapshot: random {FALLBACK_VALIDATION_SHARE:.0%} (seed {SEED})",
    )


@dataclass
class TrainingResult:
    """A model fitted on the training rows only, with its out-of-sample evaluation and the baseline's.

    ``model`` never saw ``validation``: every metric here is out of sample. ``metrics`` are those
    of what serves (the model's predictions moved to the validation day's level,
    :mod:`airbnb_assets.ml.calibration`); ``model_mae`` is the model's own; ``band`` the 80 %
    interval's log quantiles of the served predictions' residuals.
    """

    model: Any
    validation: pd.DataFrame
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    scheme: str
    n_train: int
    train_snapshots: list[str]
    model_mae: float
    band: tuple[float, float]


def served_predictions(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """What serves for ``rows`` (one snapshot): ``model``'s predictions moved to its level."""
    return calibration.served(model.predict(features_frame(rows)), rows[TARGET].to_numpy("float64"))[0]


def sorted_rows(labelled: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by key: Spark returns rows in no fixed order, sorting makes a fit reproducible."""
    if labelled[TARGET].isna().any():
        raise ValueError("training rows must all have a price")
    return labelled.sort_values(list(KEYS), kind="stable").reset_index(drop=True)


def fit(rows: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
    """Fit the pipeline on every given labelled row (the refit of a promoted model)."""
    rows = sorted_rows(rows)
    model = build_pipeline(params)
    # One OpenMP thread: scikit-learn's threads spin-wait, and on 2 cores shared with Spark a
    # multi-threaded fit can be 100x slower; single-threaded it costs ~20 % on an idle machine.
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(features_frame(rows), rows[TARGET].to_numpy(dtype="float64"))
    return model


@contextmanager
def background_fit(rows: pd.DataFrame, params: dict[str, Any] | None = None) -> Iterator[Callable[[], Any]]:
    """:func:`fit` on ``rows`` in a thread; yields a function that waits for the fitted model.

    A retrain fits twice: the challenger on the snapshots before the latest, then, if promoted, the
    same model on every row. The second fit needs only the rows, so the retrain starts it here
    while it trains and judges the challenger: the two fits share the machine's cores (the
    gradient boosting, most of a fit, runs without the GIL). The model is the one :func:`fit`
    returns; an unused one is discarded. Leaving the block waits for the thread.
    """
    # One BLAS thread for the process meanwhile (OpenMP's limit is per thread, set in fit): OpenBLAS's
    # threads spin-wait too, and beside a second fit they slowed both. On 2 cores, the six snapshots'
    # challenger and refit took 7.5-8.1 s with its two threads, 5.4-7.1 s with one (ad hoc, 3 runs each).
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(1, thread_name_prefix="refit") as pool,
    ):
        future = pool.submit(fit, rows.copy(), params)  # its own copy: pandas reads are not thread-safe
        yield future.result


def train(labelled: pd.DataFrame, params: dict[str, Any] | None = None) -> TrainingResult:
    """Fit on the rows before the latest snapshot; evaluate what serves and the baseline on the latest one."""
    train_rows, valid_rows, scheme = split_validation(sorted_rows(labelled))
    model = fit(train_rows, params)
    own = model.predict(features_frame(valid_rows))
    prices = valid_rows[TARGET].to_numpy("float64")
    predicted = calibration.served(own, prices)[0]
    baseline = GroupMedianBaseline.fit(train_rows).predict(valid_rows)
    return TrainingResult(
        model=model,
        validation=valid_rows,
        metrics=regression_metrics(valid_rows[TARGET], predicted),
        model_mae=float(np.mean(np.abs(own - prices))),
        band=calibration.band(prices, predicted),
        baseline_metrics=regression_metrics(valid_rows[TARGET], baseline),
        scheme=scheme,
        n_train=len(train_rows),
        train_snapshots=sorted({str(d) for d in train_rows["snapshot_date"]}),
    )


def backtest(labelled: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rolling-origin backtest: for each snapshot k from the second on, train on < k, evaluate on k.

    Returns one row per evaluated snapshot: rows trained on and evaluated, the MAE and median
    absolute error of what serves (:mod:`airbnb_assets.ml.calibration`) and of the group-median
    baseline, the model's own MAE before the level move, and the fit time.
    """
    import time

    dates = sorted(labelled["snapshot_date"].unique())
    rows = []
    for k in dates[1:]:
        started = time.perf_counter()
        result = train(labelled[labelled.snapshot_date <= k], params)
        rows.append(
            {
                "evaluated_on": str(k),
                "trained_on": f"{dates[0]} .. {result.train_snapshots[-1]}",
                "n_train": result.n_train,
                "n_eval": len(result.validation),
                "model_mae": round(result.metrics["mae"], 2),
                "model_medae": round(result.metrics["medae"], 2),
                "unmoved_mae": round(result.model_mae, 2),
                "baseline_mae": round(result.baseline_metrics["mae"], 2),
                "baseline_medae": round(result.baseline_metrics["medae"], 2),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    return pd.DataFrame(rows)
