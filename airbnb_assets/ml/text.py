"""Title features of the price model: the TF-IDF ridge stacked out of fold, and numbers read from titles.

Part of the model itself (registered with ``cloudpickle.register_pickle_by_value``): imports only
numpy, pandas and scikit-learn.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_BEDROOM_RE = re.compile(r"(\d+|one|two|three|four|five|six)\s*-?\s*(?:br|bd|bdr|bdrm|bed(?:room)?s?)\b")
_BATH_RE = re.compile(r"(\d+(?:\.5)?)\s*-?\s*(?:ba|bath(?:room)?s?)\b")
_LUXURY_RE = re.compile(r"luxur|penthouse|mansion|estate|designer|stunning|elegant|view")
_BUDGET_RE = re.compile(r"\bbunk|hostel|dorm|shared|couch|cozy|tiny|budget|cheap|small")
_GROUP_RE = re.compile(r"family|group|entire|whole|house|home|flat")


def text_series(frame: pd.DataFrame | pd.Series | np.ndarray) -> pd.Series:
    """Join the text column(s) of ``frame`` into one lower-case string per row.

    Args:
        frame: One or more text columns; ``None`` / ``NaN`` are treated as empty.

    Returns:
        A string series (empty string where every text column is missing).
    """
    data = pd.DataFrame(frame)
    parts = [data[c].astype(object).where(data[c].notna(), "").astype(str) for c in data.columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " " + part
    return joined.str.strip().str.lower().reset_index(drop=True)


def _first_number(pattern: re.Pattern[str], text: str) -> float:
    match = pattern.search(text)
    if match is None:
        return np.nan
    token = match.group(1)
    value = float(_WORD_NUMBERS[token]) if token in _WORD_NUMBERS else float(token)
    return value if value <= 20 else np.nan


def title_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Simple counts parsed from the listing title.

    Args:
        frame: The text column(s); missing titles give ``NaN`` features.

    Returns:
        A float frame with ``title_bedrooms`` (``0`` for a studio), ``title_baths``, ``title_len``,
        ``title_luxury``, ``title_budget`` and ``title_group``.
    """
    text = text_series(frame)
    present = (text != "").to_numpy()
    bedrooms = np.array([_first_number(_BEDROOM_RE, t) for t in text], dtype="float64")
    studio = text.str.contains(r"\bstudio\b", regex=True).to_numpy()
    bedrooms = np.where(np.isnan(bedrooms) & studio, 0.0, bedrooms)
    out = pd.DataFrame(
        {
            "title_bedrooms": bedrooms,
            "title_baths": np.array([_first_number(_BATH_RE, t) for t in text], dtype="float64"),
            "title_len": text.str.len().to_numpy(dtype="float64"),
            "title_luxury": text.str.count(_LUXURY_RE.pattern).to_numpy(dtype="float64"),
            "title_budget": text.str.count(_BUDGET_RE.pattern).to_numpy(dtype="float64"),
            "title_group": text.str.count(_GROUP_RE.pattern).to_numpy(dtype="float64"),
        },
        index=pd.DataFrame(frame).index,
    )
    out.loc[~present, :] = np.nan
    return out


def title_feature_names(transformer: Any, input_features: Any) -> list[str]:
    """Output names of :func:`title_features` (for ``FunctionTransformer.get_feature_names_out``).

    Args:
        transformer: The calling ``FunctionTransformer`` (unused).
        input_features: The input column names (unused).

    Returns:
        The derived column names.
    """
    return ["title_bedrooms", "title_baths", "title_len", "title_luxury", "title_budget", "title_group"]


class OutOfFoldTextRidge(TransformerMixin, BaseEstimator):
    """TF-IDF (word + char n-grams) → ridge on the (log) target, emitted as one numeric feature.

    ``fit_transform`` returns *out-of-fold* predictions: rows are split into ``n_splits`` folds,
    grouped by title so that a listing repeated across snapshots with the same title never sits on
    both sides of a split, and each fold is predicted by a ridge fit on the others. ``transform``
    (used at predict time) uses a ridge refit on all titled rows. Rows without a title get ``NaN``.
    The vectorisers are fit once on all titles (unsupervised). Deterministic: the fold assignment
    depends only on the titles and ``random_state``.

    Args:
        alpha: Ridge regularisation strength.
        n_splits: Number of folds for the out-of-fold predictions.
        word_max_ngram: Largest word n-gram.
        char_min_ngram: Smallest character n-gram (``char_wb``).
        char_max_ngram: Largest character n-gram.
        min_df: Minimum document frequency of a term.
        max_features: Vocabulary cap per vectoriser.
        random_state: Seed of the fold assignment.
    """

    def __init__(
        self,
        alpha: float = 3.0,
        n_splits: int = 5,
        word_max_ngram: int = 2,
        char_min_ngram: int = 2,
        char_max_ngram: int = 5,
        min_df: int = 2,
        max_features: int = 200000,
        random_state: int = 42,
    ) -> None:
        self.alpha = alpha
        self.n_splits = n_splits
        self.word_max_ngram = word_max_ngram
        self.char_min_ngram = char_min_ngram
        self.char_max_ngram = char_max_ngram
        self.min_df = min_df
        self.max_features = max_features
        self.random_state = random_state

    def _vectorizer(self) -> FeatureUnion:
        common = {
            "min_df": self.min_df,
            "max_features": self.max_features,
            "sublinear_tf": True,
            "dtype": np.float64,
        }
        char_range = (self.char_min_ngram, self.char_max_ngram)
        return FeatureUnion(
            [
                ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, self.word_max_ngram), **common)),
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=char_range, **common)),
            ]
        )

    def _ridge(self) -> Ridge:
        return Ridge(alpha=self.alpha, solver="lsqr", tol=1e-3)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> OutOfFoldTextRidge:
        """Fit the vectorisers and the full-data ridge.

        Args:
            X: The text column(s).
            y: The target (log price when used inside :func:`build_pipeline`).

        Returns:
            The fitted transformer.
        """
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None, **fit_params: Any) -> np.ndarray:
        """Fit, and return out-of-fold ridge predictions for the training rows.

        Args:
            X: The text column(s).
            y: The target (log price when used inside :func:`build_pipeline`).
            **fit_params: Ignored.

        Returns:
            An ``(n, 1)`` float array: out-of-fold predictions, ``NaN`` for rows without a title.
        """
        if y is None:
            raise ValueError("OutOfFoldTextRidge needs y")
        text = text_series(X)
        target = np.asarray(y, dtype="float64")
        present = (text != "").to_numpy()
        out = np.full((len(text), 1), np.nan)
        self.n_features_in_ = pd.DataFrame(X).shape[1]
        self.vectorizer_ = self._vectorizer()
        if present.sum() < max(2 * self.n_splits, 10):
            self.ridge_ = None
            return out
        # Rows sharing a title share a fold, so the ridge is fit on distinct titles (mean target,
        # weighted by count): the same solution as on all rows, at a fraction of the cost.
        titles, inverse, counts = np.unique(text[present].to_numpy(), return_inverse=True, return_counts=True)
        y_title = np.bincount(inverse, weights=target[present]) / counts
        matrix = self.vectorizer_.fit_transform(titles).tocsr()
        weights = counts.astype("float64")
        self.offset_ = float(np.average(y_title, weights=weights))
        self.ridge_ = self._ridge().fit(matrix, y_title - self.offset_, sample_weight=weights)
        # Fold assignment: a fixed random permutation of the distinct titles, dealt into folds.
        fold = np.random.default_rng(self.random_state).permutation(len(titles)) % self.n_splits
        oof_title = np.empty(len(titles))
        for k in range(self.n_splits):
            train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            fold_offset = float(np.average(y_title[train_idx], weights=weights[train_idx]))
            ridge = self._ridge().fit(
                matrix[train_idx], y_title[train_idx] - fold_offset, sample_weight=weights[train_idx]
            )
            oof_title[test_idx] = ridge.predict(matrix[test_idx]) + fold_offset
        oof = oof_title[inverse]
        out[present, 0] = oof
        return out

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Predict with the ridge refit on all titled training rows.

        Args:
            X: The text column(s).

        Returns:
            An ``(n, 1)`` float array, ``NaN`` for rows without a title.
        """
        check_is_fitted(self, "vectorizer_")
        text = text_series(X)
        out = np.full((len(text), 1), np.nan)
        present = (text != "").to_numpy()
        if self.ridge_ is not None and present.any():
            out[present, 0] = self.ridge_.predict(self.vectorizer_.transform(text[present])) + self.offset_
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Name of the single output feature.

        Args:
            input_features: Ignored.

        Returns:
            ``["text_ridge"]``.
        """
        return np.array(["text_ridge"], dtype=object)
