"""A price model that reads the listing title: TF-IDF ridge stacked out of fold into gradient boosting.

The estimator returned by :func:`build_pipeline` is one scikit-learn object (fit on dollars, predicts
dollars), so MLflow logs a single model and Spark scores it with one pandas UDF
(:func:`airbnb_assets.ml.scoring.model_udf`):

* the title (``name``) goes through word and character n-gram TF-IDF into a ridge regression on log
  price; its prediction enters the booster as one numeric feature. During ``fit`` that feature is
  computed *out of fold* (K folds, rows with the same title kept in the same fold), so the booster
  never learns from in-sample ridge predictions; at predict time the ridge refit on all rows is used.
  Rows without a title get ``NaN``, which the booster routes as missing;
* a few counts are parsed from the title (bedrooms, studio, luxury words, length);
* location is re-expressed as distance and bearing to downtown plus rotated coordinates, which
  axis-aligned tree splits use more easily than raw latitude / longitude;
* numerics are passed through with their ``NaN`` (a column with no value in the training rows becomes
  a constant); the review-count columns are left out by default (``exclude_numeric``): they drift with
  listing age and cost accuracy on a snapshot missing other columns, while adding nothing measurable
  elsewhere. Categoricals are category codes the booster splits natively (``categorical_encoding``
  ``"native"``; a category unseen in training is missing); ``"onehot"`` encodes them as 0/1 columns;
* a ``HistGradientBoostingRegressor`` with absolute-error loss (MAE is the metric) is fit on
  ``log1p(price)``, with the target clipped at a high quantile so placeholder prices (10000) do not
  pull the fit; it also trains on a copy of half the rows with random groups of features blanked, so
  a snapshot where whole columns (or the title) are missing is still scored sensibly.

Timing note: scikit-learn's OpenMP threads spin-wait; on a 2-core machine shared with busy Spark
workers a fit can be 100x slower than single-threaded. Fit with ``OMP_NUM_THREADS=1`` (or
``threadpoolctl.threadpool_limits(1)``) when Spark is running alongside.

The model's code lives in this module, :mod:`airbnb_assets.ml.text` and
:mod:`airbnb_assets.ml.estimators`, which import only numpy, pandas and scikit-learn; all three
are registered with ``cloudpickle.register_pickle_by_value``, so a registered model loads without
this package.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

from airbnb_assets.ml.estimators import LogPriceRegressor, MaskAugmentedBooster
from airbnb_assets.ml.text import OutOfFoldTextRidge, title_feature_names, title_features

#: Hyper-parameters of the whole estimator (flat; logged to MLflow).
PARAMS: dict[str, Any] = {
    # booster
    "gbm_loss": "absolute_error",
    "gbm_max_iter": 200,
    "gbm_learning_rate": 0.12,
    "gbm_max_leaf_nodes": 31,
    "gbm_min_samples_leaf": 30,
    "gbm_l2_regularization": 1.0,
    "gbm_max_features": 1.0,
    # "native": category codes the booster splits as categories; "onehot": one 0/1 column per category
    "categorical_encoding": "native",
    # text ridge
    "text_alpha": 3.0,
    "text_n_splits": 5,
    "text_word_max_ngram": 2,
    "text_char_min_ngram": 2,
    "text_char_max_ngram": 4,
    "text_min_df": 2,
    "text_max_features": 200000,
    # numeric contract columns left out (comma-separated): review counts drift with listing age and
    # hurt the snapshots where other columns are missing (backtest 2019-06-02)
    "exclude_numeric": "number_of_reviews,reviews_per_month,days_since_last_review",
    # missing-feature augmentation
    "mask_prob": 1.0,
    "mask_n_copies": 1,
    "mask_copy_weight": 1.0,
    "mask_copy_fraction": 0.5,
    # target
    "target_clip_quantile": 0.999,
    "random_state": 42,
}

MISSING = "__missing__"
#: Union Square, San Francisco (latitude, longitude).
DOWNTOWN = (37.7880, -122.4075)
_KM_PER_DEG_LAT = 111.0
_KM_PER_DEG_LON = 111.0 * np.cos(np.radians(DOWNTOWN[0]))


def fill_missing_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace missing categorical values by a sentinel so the encoder sees them as one category.

    Args:
        frame: Categorical columns.

    Returns:
        The columns as ``object`` with missing values replaced by ``"__missing__"``.
    """
    data = pd.DataFrame(frame)
    return data.astype(object).where(data.notna(), MISSING)


def numeric_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as floats, ``NaN`` where missing or not a number (the booster handles ``NaN``).

    Args:
        frame: Numeric columns.

    Returns:
        The columns as ``float64``.
    """
    return pd.DataFrame(frame).apply(pd.to_numeric, errors="coerce").astype("float64")


def geo_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Distance and bearing to downtown and 45°-rotated coordinates, in km.

    Args:
        frame: A frame with ``latitude`` and ``longitude`` columns (first two columns if unnamed).

    Returns:
        A float frame with columns ``dist_downtown_km``, ``bearing_downtown``, ``rot45_a_km`` and
        ``rot45_b_km``; ``NaN`` where a coordinate is missing.
    """
    data = pd.DataFrame(frame)
    lat = pd.to_numeric(data.iloc[:, 0], errors="coerce").to_numpy(dtype="float64")
    lon = pd.to_numeric(data.iloc[:, 1], errors="coerce").to_numpy(dtype="float64")
    north = (lat - DOWNTOWN[0]) * _KM_PER_DEG_LAT
    east = (lon - DOWNTOWN[1]) * _KM_PER_DEG_LON
    return pd.DataFrame(
        {
            "dist_downtown_km": np.hypot(north, east),
            "bearing_downtown": np.arctan2(north, east),
            "rot45_a_km": (north + east) / np.sqrt(2.0),
            "rot45_b_km": (north - east) / np.sqrt(2.0),
        },
        index=data.index,
    )


def geo_feature_names(transformer: Any, input_features: Any) -> list[str]:
    """Output names of :func:`geo_features` (for ``FunctionTransformer.get_feature_names_out``).

    Args:
        transformer: The calling ``FunctionTransformer`` (unused).
        input_features: The input column names (unused).

    Returns:
        The four derived column names.
    """
    return ["dist_downtown_km", "bearing_downtown", "rot45_a_km", "rot45_b_km"]


def build_pipeline(
    numeric: list[str], categorical: list[str], text: list[str], params: dict[str, Any] | None = None
) -> LogPriceRegressor:
    """Build the unfitted estimator: features (numeric, geo, categories, title) → boosting on log price.

    Args:
        numeric: Numeric contract columns (passed through with ``NaN``; must include ``latitude`` and
            ``longitude`` for the geo features).
        categorical: Categorical contract columns (codes split natively, or one-hot; unknown
            categories are missing).
        text: Text columns (the listing title), may hold ``None`` / ``NaN``.
        params: Overrides of :data:`PARAMS` (missing keys take the defaults).

    Returns:
        An estimator with ``fit(X, price_dollars)`` and ``predict(X) -> dollars``.
    """
    p = {**PARAMS, **(params or {})}
    seed = int(p["random_state"])
    excluded = {c.strip() for c in str(p["exclude_numeric"]).split(",") if c.strip()}
    numeric = [c for c in numeric if c not in excluded]
    encoding = p["categorical_encoding"]
    if encoding not in ("native", "onehot"):
        raise ValueError(f"categorical_encoding must be 'native' or 'onehot', got {encoding!r}")
    native = encoding == "native"
    encoder = (
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, dtype="float64")
        if native
        else OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    )
    transformers: list[tuple[str, Any, list[str]]] = [
        ("numeric", FunctionTransformer(numeric_values, feature_names_out="one-to-one"), list(numeric)),
        (
            "categorical",
            make_pipeline(
                FunctionTransformer(fill_missing_categories, feature_names_out="one-to-one"),
                encoder,
            ),
            list(categorical),
        ),
    ]
    if "latitude" in numeric and "longitude" in numeric:
        transformers.append(
            (
                "geo",
                FunctionTransformer(geo_features, feature_names_out=geo_feature_names),
                ["latitude", "longitude"],
            )
        )
    if text:
        transformers += [
            (
                "text_ridge",
                OutOfFoldTextRidge(
                    alpha=float(p["text_alpha"]),
                    n_splits=int(p["text_n_splits"]),
                    word_max_ngram=int(p["text_word_max_ngram"]),
                    char_min_ngram=int(p["text_char_min_ngram"]),
                    char_max_ngram=int(p["text_char_max_ngram"]),
                    min_df=int(p["text_min_df"]),
                    max_features=int(p["text_max_features"]),
                    random_state=seed,
                ),
                list(text),
            ),
            ("title", FunctionTransformer(title_features, feature_names_out=title_feature_names), list(text)),
        ]
    preprocess = ColumnTransformer(
        transformers, sparse_threshold=0.0, verbose_feature_names_out=True
    ).set_output(transform="pandas")
    gbm = MaskAugmentedBooster(
        loss=p["gbm_loss"],
        max_iter=int(p["gbm_max_iter"]),
        learning_rate=float(p["gbm_learning_rate"]),
        max_leaf_nodes=int(p["gbm_max_leaf_nodes"]),
        min_samples_leaf=int(p["gbm_min_samples_leaf"]),
        l2_regularization=float(p["gbm_l2_regularization"]),
        max_features=float(p["gbm_max_features"]),
        mask_prob=float(p["mask_prob"]),
        n_copies=int(p["mask_n_copies"]),
        copy_weight=float(p["mask_copy_weight"]),
        copy_fraction=float(p["mask_copy_fraction"]),
        categorical_prefix="categorical__" if native else None,
        random_state=seed,
    )
    model = Pipeline([("preprocess", preprocess), ("gbm", gbm)])
    return LogPriceRegressor(regressor=model, clip_quantile=float(p["target_clip_quantile"]))
