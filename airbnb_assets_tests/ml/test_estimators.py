"""The mask-augmented booster on small synthetic frames (no Spark)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from airbnb_assets.ml.estimators import MaskAugmentedBooster


def _frame(n: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "numeric__a": rng.normal(size=n),
            "numeric__b": rng.normal(size=n),
            "title__x": rng.normal(size=n),
        }
    )
    y = 2.0 * X["numeric__a"].to_numpy() - X["numeric__b"].to_numpy() + 0.5 * X["title__x"].to_numpy()
    return X, y + rng.normal(scale=0.1, size=n)


def test_the_masked_copies_weight_still_counts_and_a_fit_repeats() -> None:
    X, y = _frame()
    small = {"max_iter": 30, "min_samples_leaf": 10}
    unit = MaskAugmentedBooster(**small).fit(X, y)
    again = MaskAugmentedBooster(**small).fit(X, y)
    light = MaskAugmentedBooster(**small, copy_weight=0.2).fit(X, y)
    masked = X.assign(numeric__a=np.nan)
    # Repeatable, and the weights of the masked copies still change what is learnt without a column.
    np.testing.assert_array_equal(unit.predict(masked), again.predict(masked))
    assert not np.allclose(unit.predict(masked), light.predict(masked))
    assert np.mean(np.abs(unit.predict(X) - y)) < 0.5


def test_without_copies_it_is_scikit_learns_unweighted_booster() -> None:
    X, y = _frame()
    params = {"max_iter": 30, "min_samples_leaf": 10, "learning_rate": 0.1, "l2_regularization": 1.0}
    ours = MaskAugmentedBooster(**params, mask_prob=0.0).fit(X, y)
    plain = HistGradientBoostingRegressor(
        loss="absolute_error", early_stopping=False, random_state=42, **params
    )
    np.testing.assert_array_equal(ours.predict(X), plain.fit(X.to_numpy(), y).predict(X.to_numpy()))


def test_it_predicts_on_one_openmp_thread_and_restores_the_process_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Spark scores with one Python worker per core: the booster's own threads would only contend."""
    from threadpoolctl import threadpool_info

    def openmp_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"}

    X, y = _frame()
    model = MaskAugmentedBooster(max_iter=30, min_samples_leaf=10).fit(X, y)
    seen: list[set[int]] = []
    predict = HistGradientBoostingRegressor.predict

    def spy(self, values):  # type: ignore[no-untyped-def]
        seen.append(openmp_threads())
        return predict(self, values)

    before = openmp_threads()
    monkeypatch.setattr(HistGradientBoostingRegressor, "predict", spy)
    predicted = model.predict(X)
    assert seen == [{1}]
    assert openmp_threads() == before
    np.testing.assert_array_equal(predicted, predict(model.booster_, X.to_numpy()))
