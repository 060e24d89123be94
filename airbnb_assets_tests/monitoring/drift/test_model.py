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


def _served(model_prediction: np.ndarray, prices: pd.Series, band: tuple[float, float]) -> pd.DataFrame:
    from airbnb_assets.ml import calibration

    served, low, high, _ = calibration.served(model_prediction, prices.to_numpy("float64"), band)
    return pd.DataFrame(
        {
            "prediction": served,
            "prediction_p10": low,
            "prediction_p90": high,
            "model_prediction": model_prediction,
            "actual_price": prices,
        }
    )


def test_a_market_move_and_a_wrong_band_are_model_drift_evidence(snapshot_gold_rows: pd.DataFrame) -> None:
    """Served predictions follow a market that moved, yet the move says the model is stale; a band
    that no longer covers 80 % says its errors no longer scatter as they did."""
    from airbnb_assets.ml import calibration

    rows = snapshot_gold_rows[snapshot_gold_rows.price.notna()]
    train = rows[rows.snapshot_date < dt.date(2017, 3, 2)]
    valid = rows[rows.snapshot_date == dt.date(2017, 3, 2)]
    day = rows[rows.snapshot_date == dt.date(2017, 4, 2)].reset_index(drop=True)
    model = GroupMedianBaseline.fit(train)
    valid_served = calibration.served(model.predict(valid), valid.price.to_numpy("float64"))[0]
    band = calibration.band(valid.price.to_numpy("float64"), valid_served)
    reference = regression_metrics(valid.price, valid_served)

    honest = model_drift(_served(model.predict(day), day.price, band), reference, band=band)
    assert honest.reasons == [] and not honest.degraded
    assert 0.75 <= honest.evidence["coverage_80"] <= 0.85  # type: ignore[operator]
    assert 0.70 <= honest.evidence["band_coverage_80"] <= 0.90  # type: ignore[operator]
    assert honest.evidence["market_level"] == pytest.approx(1.0, abs=0.1)

    moved = model_drift(_served(model.predict(day), day.price * 1.5, band), reference, band=band)
    assert "level" in moved.reasons and moved.degraded
    assert moved.evidence["market_level"] == pytest.approx(1.5 * honest.evidence["market_level"], rel=1e-6)
    assert 0.75 <= moved.evidence["coverage_80"] <= 0.85  # type: ignore[operator]  # the served band holds

    narrow = (band[0] * 0.3, band[1] * 0.3)
    squeezed = model_drift(_served(model.predict(day), day.price, narrow), reference, band=narrow)
    assert squeezed.reasons == ["coverage"] and squeezed.evidence["band_coverage_80"] < 0.7  # type: ignore[operator]
    summary = json.loads(json.dumps(squeezed.as_json(), allow_nan=False))
    assert summary["reasons"] == ["coverage"] and summary["band_coverage_80"] < 0.7
