"""The drift alert sensor on a real Dagster instance: episodes, backfills, retries; it launches no run."""

import json
from pathlib import Path

import dagster as dg

from airbnb_assets.monitoring.alerts.sensor import drift_alert_sensor, observation
from airbnb_assets.platform.tables import DRIFT_REPORT_KEY
from airbnb_assets.resources.monitoring import MonitoringResource
from airbnb_assets.resources.notifier.resource import NotifierResource, WebhookChannel
from airbnb_assets_tests.conftest import Recorder


def _report(instance: dg.DagsterInstance, day: str, data: bool, model: bool = False) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=DRIFT_REPORT_KEY,
            partition=day,
            metadata={
                "evaluated": True,
                "dataset_drift": data,
                "share_drifted": 0.7 if data else 0.1,
                "drifted_columns": "minimum_nights, room_type" if data else "none",
                "model_degraded": model,
                "model_mae": 130.0 if model else 95.0,
                "reference_mae": 96.0,
                "data_drift_report": dg.MetadataValue.path(f"/reports/{day}/data_drift.html"),
            },
        )
    )


def _tick(instance: dg.DagsterInstance, hook: Recorder, cursor: str | None, tmp_path: Path):  # type: ignore[no-untyped-def]
    """One evaluation of the sensor, alerting to ``hook``; returns its result (cursor, run requests)."""
    resources = {
        "notifier": NotifierResource(
            log_path=str(tmp_path / "a.jsonl"), channel=WebhookChannel(webhook_url=hook.url)
        ),
        "monitoring": MonitoringResource(env="test"),
    }
    # The notifier nests the secrets resource, so Dagster opens the resources as a context manager.
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        return drift_alert_sensor(context)


def _log(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]


def test_one_alert_per_episode_backfills_ignored_and_no_run_requested(
    recorder: Recorder, tmp_path: Path
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _report(instance, "2020-01-01", False)
    _report(instance, "2020-01-02", True)
    # A report without data (no predictions that day) neither clears nor restarts the episode.
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=DRIFT_REPORT_KEY, partition="2020-01-02", metadata={"evaluated": False}
        )
    )
    _report(instance, "2020-01-03", True)
    first = _tick(instance, recorder, None, tmp_path)
    assert [(a["kind"], a["run_date"]) for a in recorder.delivered()] == [("data_drift", "2020-01-02")]
    alert = recorder.delivered()[0]
    assert alert["env"] == "test" and "minimum_nights, room_type" in alert["summary"]
    assert alert["report_url"] == "/reports/2020-01-02/data_drift.html"
    assert not first.run_requests

    _report(instance, "2020-01-04", False)  # clears
    _report(instance, "2020-01-05", True)  # comes back: a new episode
    _report(instance, "2019-12-01", True)  # a backfill of an older day: no alert
    _report(instance, "2020-01-06", True, model=True)  # model drift: alert (retrain_sensor retrains)
    second = _tick(instance, recorder, first.cursor, tmp_path)
    assert [(a["kind"], a["run_date"]) for a in recorder.delivered()[1:]] == [
        ("data_drift", "2020-01-05"),
        ("model_drift", "2020-01-06"),
    ]
    assert not second.run_requests  # alerts only: retrain_sensor requests retrains
    assert json.loads(second.cursor or "{}")["state"]["last_run_date"] == "2020-01-06"

    third = _tick(instance, recorder, second.cursor, tmp_path)  # nothing new: nothing sent
    assert len(recorder.requests) == 3 and not third.run_requests
    log = _log(tmp_path)
    assert len(log) == 3 and all(entry["delivered"] for entry in log)


def test_undelivered_alert_is_retried_on_the_next_tick(recorder: Recorder, tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _report(instance, "2020-02-01", True)
    recorder.status = 500
    failed = _tick(instance, recorder, None, tmp_path)
    assert [r.status for r in recorder.requests] == [500]  # delivery was attempted, and refused
    assert recorder.delivered() == [] and len(json.loads(failed.cursor or "{}")["pending"]) == 1
    recorder.status = 204
    retried = _tick(instance, recorder, failed.cursor, tmp_path)
    assert [a["run_date"] for a in recorder.delivered()] == ["2020-02-01"]
    assert json.loads(retried.cursor or "{}")["pending"] == []
    assert [entry["delivered"] for entry in _log(tmp_path)] == [False, True]  # both attempts audited


def test_observation_reads_the_drift_report_metadata() -> None:
    metadata = {
        "dataset_drift": dg.MetadataValue.bool(True),
        "share_drifted": 0.5,
        "drifted_columns": "room_type, minimum_nights",
        "model_degraded": False,
        "model_mae": 101.5,
        "reference_mae": 96.0,
        "data_drift_report": dg.MetadataValue.path("/r/data_drift.html"),
    }
    obs = observation("2020-03-01", metadata)
    assert (obs.run_date, obs.data_drift, obs.drifted_columns) == (
        "2020-03-01",
        True,
        ["room_type", "minimum_nights"],
    )
    assert (obs.share_drifted, obs.model_degraded, obs.model_mae) == (0.5, False, 101.5)
    assert obs.report_url == "/r/data_drift.html" and obs.model_report_url is None
    empty = observation("2020-03-02", {"drifted_columns": "none"})
    assert (empty.data_drift, empty.drifted_columns, empty.share_drifted) == (False, [], 0.0)
