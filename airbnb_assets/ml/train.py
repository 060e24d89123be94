"""Training: the scikit-learn pipeline, the group-median baseline, metrics and the validation split.

The model is a ``HistGradientBoostingRegressor`` on log price. Gradient boosting captures the
non-linear location × room-type × availability interactions the baseline cannot, handles the
snapshots' missing columns through imputation plus missing-indicators, and trains in seconds on a
laptop; the log target tames the heavy right tail of nightly prices, so a few $5,000 listings do
not dominate the fit. Categoricals are one-hot encoded with ``handle_unknown="ignore"`` so a new
category (``Hotel room`` in 2019-10) is scored, not a crash. How it compares with the
group-median baseline on each replayed snapshot is recorded in the docs (model card).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from airbnb_assets.gold.features import KEYS, TARGET
from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC

#: Hyper-parameters of the regressor (logged to MLflow).
PARAMS: dict[str, Any] = {
    "max_iter": 400,
    "learning_rate": 0.06,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 30,
    "l2_regularization": 1.0,
    "random_state": 42,
}
#: Share of listings held out when only one labelled snapshot exists.
FALLBACK_VALIDATION_SHARE = 0.2
SEED = 42
MISSING = "__missing__"


def _fill_missing_categories(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), MISSING)


def build_pipeline(params: dict[str, Any] | None = None) -> TransformedTargetRegressor:
    """Imputation + one-hot encoding + gradient boosting, trained on ``log1p(price)``."""
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                NUMERIC,
            ),
            (
                "categorical",
                make_pipeline(
                    FunctionTransformer(_fill_missing_categories, feature_names_out="one-to-one"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                CATEGORICAL,
            ),
        ]
    )
    model = Pipeline(
        [("preprocess", preprocess), ("gbm", HistGradientBoostingRegressor(**(params or PARAMS)))]
    )
    return TransformedTargetRegressor(regressor=model, func=np.log1p, inverse_func=np.expm1)


def features_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract columns with their contract dtypes (float64 / object), in contract order."""
    out = pd.DataFrame(index=frame.index)
    for name in NUMERIC:
        out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64") if name in frame else np.nan
    for name in CATEGORICAL:
        out[name] = frame[name].astype(object) if name in frame else None
    return out


def regression_metrics(actual: pd.Series, predicted: np.ndarray | pd.Series) -> dict[str, float]:
    """MAE, RMSE, R² and MAPE of predictions against actual prices."""
    return {
        "mae": float(mean_absolute_error(actual, predicted)),
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
    """Hold out the latest labelled snapshot; with a single snapshot, a fixed-seed 20 % of listings."""
    dates = sorted(labelled["snapshot_date"].unique())
    if len(dates) >= 2:
        latest = dates[-1]
        return (
            labelled[labelled.snapshot_date != latest],
            labelled[labelled.snapshot_date == latest],
            (f"latest snapshot {latest}"),
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
    """A fitted model with its validation data and metrics, and the baseline's."""

    model: TransformedTargetRegressor
    validation: pd.DataFrame
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    scheme: str
    n_train: int
    train_snapshots: list[str]


def train(labelled: pd.DataFrame, params: dict[str, Any] | None = None) -> TrainingResult:
    """Fit the pipeline on all but the validation rows; evaluate it and the baseline there."""
    if labelled[TARGET].isna().any():
        raise ValueError("training rows must all have a price")
    # Spark returns rows in no fixed order; sorting makes a retrain on the same data reproducible.
    labelled = labelled.sort_values(list(KEYS), kind="stable").reset_index(drop=True)
    train_rows, valid_rows, scheme = split_validation(labelled)
    model = build_pipeline(params)
    model.fit(features_frame(train_rows), train_rows[TARGET].to_numpy(dtype="float64"))
    predicted = model.predict(features_frame(valid_rows))
    baseline = GroupMedianBaseline.fit(train_rows).predict(valid_rows)
    return TrainingResult(
        model=model,
        validation=valid_rows,
        metrics=regression_metrics(valid_rows[TARGET], predicted),
        baseline_metrics=regression_metrics(valid_rows[TARGET], baseline),
        scheme=scheme,
        n_train=len(train_rows),
        train_snapshots=sorted({str(d) for d in train_rows["snapshot_date"]}),
    )
