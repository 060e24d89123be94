"""Model drift on real rows: a group-median model trained before 2017-03, judged on 2017-04."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from airbnb_assets.ml.train import GroupMedianBaseline, regression_metrics
from airbnb_assets.monitoring.drift.model import MAE_TOLERANCE, model_drift


@pytest.fixture(scope="module")
def scored(snapshot_gold_rows: pd.DataFrame) -> dict:
    """A group-median model trained before 2017-03, validated on 2017-03, scoring 2017-04.

    A third of the 2017-04 rows are unlabelled (null ``actual_price``).
    """
    train = snapshot_gold_rows[snapshot_gold_rows.snapshot_date < dt.date(2017, 3, 2)]
    valid = snapshot_gold_rows[snapshot_gold_rows.snapshot_date == dt.date(2017, 3, 2)]
    day = snapshot_gold_rows[snapshot_gold_rows.snapshot_date == dt.date(2017, 4, 2)].reset_index(drop=True)
    model = GroupMedianBaseline.fit(train)
    current = pd.DataFrame({"prediction": model.predict(day), "actual_price": day.price})
    current.loc[current.index % 3 == 0, "actual_price"] = np.nan
    return {
        "reference_metrics": regression_metrics(valid.price, model.predict(valid)),
        "previous": pd.Series(model.predict(valid)),
        "current": current,
    }


def test_honest_predictions_are_not_degraded(scored: dict) -> None:
    current = scored["current"]
    result = model_drift(current, scored["reference_metrics"], previous_predictions=scored["previous"])
    labelled = current.dropna()
    assert result.n_labelled == len(labelled) < len(current)
    assert result.metrics == pytest.approx(regression_metrics(labelled.actual_price, labelled.prediction))
    assert result.judged and not result.degraded
    assert result.metrics is not None
    assert result.metrics["mae"] < scored["reference_metrics"]["mae"] * (1 + MAE_TOLERANCE / 2)
    assert result.prediction_drift is not None and not result.prediction_drift.drifted
    summary = json.loads(json.dumps(result.as_json(), allow_nan=False))
    assert summary["degraded"] is False and summary["mae_ratio"] < 1 + MAE_TOLERANCE
    assert "Mean Absolute Error" in result.html and "<html" in result.prediction_drift_html.lower()


def test_biased_predictions_are_degraded_and_drifted(scored: dict) -> None:
    biased = scored["current"].assign(prediction=lambda f: f.prediction * 1.5)
    result = model_drift(biased, scored["reference_metrics"], previous_predictions=scored["previous"])
    assert result.degraded
    assert result.metrics is not None and result.metrics["mae"] > result.mae_limit
    assert result.prediction_drift is not None and result.prediction_drift.drifted
    assert result.as_json()["prediction_drift"]["drifted"] is True


def test_model_drift_without_labels_or_history(scored: dict) -> None:
    unlabelled = scored["current"].assign(actual_price=np.nan)
    result = model_drift(unlabelled, scored["reference_metrics"])
    assert (result.n_labelled, result.metrics, result.judged, result.degraded) == (0, None, False, False)
    assert result.prediction_drift is None and result.html == ""
    json.dumps(result.as_json(), allow_nan=False)
    few = model_drift(scored["current"].head(30), scored["reference_metrics"])
    assert few.metrics is not None and not few.judged and not few.degraded
    with pytest.raises(ValueError, match="prediction"):
        model_drift(unlabelled.drop(columns=["prediction"]), scored["reference_metrics"])
