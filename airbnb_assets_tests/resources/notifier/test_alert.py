"""The alert message: one plain-JSON payload every backend derives from."""

import dataclasses
import datetime as dt
import json

import pytest

from airbnb_assets.resources.notifier.resource import Alert


def test_payload_is_plain_json(alert: Alert) -> None:
    payload = alert.to_payload()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert payload["details"]["drifted_columns"]["accommodates"] == pytest.approx(0.22)
    assert type(payload["details"]["rows"]) is int
    nan = Alert("model_drift", "dev", "t", "s", {"rmse": float("nan"), "at": dt.date(2017, 3, 2)})
    assert nan.to_payload()["details"] == {"rmse": None, "at": "2017-03-02"}
    with pytest.raises(TypeError, match="object"):
        Alert("model_drift", "dev", "t", "s", {"x": object()}).to_payload()


def test_frozen_and_every_payload_field_present(alert: Alert) -> None:
    payload = alert.to_payload()
    assert set(payload) == {
        "kind",
        "env",
        "severity",
        "title",
        "summary",
        "details",
        "report_url",
        "run_date",
    }
    assert (payload["severity"], payload["run_date"]) == ("warning", "2017-03-02")
    with pytest.raises(dataclasses.FrozenInstanceError):
        alert.title = "changed"  # type: ignore[misc]
