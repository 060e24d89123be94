"""The drift alert sensor on a real Dagster instance: episodes, backfills, retries; it launches no run."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from airbnb_assets.monitoring.alerts.episodes import DriftObservation, EpisodeState, observe
from airbnb_assets.monitoring.alerts.sensor import drift_alert_sensor
from airbnb_assets.platform.tables import DRIFT_REPORT_KEY
from airbnb_assets.resources.monitoring import MonitoringResource
from airbnb_assets.resources.notifier.resource import NotifierResource


class Hook:
    """A webhook on 127.0.0.1 that records JSON bodies; ``status`` decides its answer."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 204
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.status < 300:
                    hook.received.append(body)
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def hook() -> Iterator[Hook]:
    """A running webhook server, stopped after the test."""
    server = Hook()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    thread.join(timeout=5)


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


def _tick(instance: dg.DagsterInstance, hook: Hook, cursor: str | None, tmp_path: Path) -> dg.SensorResult:
    resources = {
        "notifier": NotifierResource(
            backend="webhook", webhook_url=hook.url, log_path=str(tmp_path / "a.jsonl")
        ),
        "monitoring": MonitoringResource(env="test"),
    }
    context = dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor)
    result = drift_alert_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_one_alert_per_episode_backfills_ignored_and_no_run_requested(hook: Hook, tmp_path: Path) -> None:
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
    first = _tick(instance, hook, None, tmp_path)
    assert [(a["kind"], a["run_date"]) for a in hook.received] == [("data_drift", "2020-01-02")]
    alert = hook.received[0]
    assert alert["env"] == "test" and "minimum_nights, room_type" in alert["summary"]
    assert alert["report_url"] == "/reports/2020-01-02/data_drift.html"
    assert not first.run_requests

    _report(instance, "2020-01-04", False)  # clears
    _report(instance, "2020-01-05", True)  # comes back: a new episode
    _report(instance, "2019-12-01", True)  # a backfill of an older day: no alert
    _report(instance, "2020-01-06", True, model=True)  # model drift: alert (the daily job retrains)
    second = _tick(instance, hook, first.cursor, tmp_path)
    assert [(a["kind"], a["run_date"]) for a in hook.received[1:]] == [
        ("data_drift", "2020-01-05"),
        ("model_drift", "2020-01-06"),
    ]
    assert not second.run_requests  # ml/price_model already ran after this report in the daily job

    third = _tick(instance, hook, second.cursor, tmp_path)  # nothing new: nothing sent
    assert len(hook.received) == 3 and not third.run_requests
    log = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(log) == 3 and all(entry["delivered"] for entry in log)


def test_undelivered_alert_is_retried_on_the_next_tick(hook: Hook, tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _report(instance, "2020-02-01", True)
    hook.status = 500
    failed = _tick(instance, hook, None, tmp_path)
    assert hook.received == [] and len(json.loads(failed.cursor or "{}")["pending"]) == 1
    hook.status = 204
    retried = _tick(instance, hook, failed.cursor, tmp_path)
    assert [a["run_date"] for a in hook.received] == ["2020-02-01"]
    assert json.loads(retried.cursor or "{}")["pending"] == []


def test_episode_state_round_trips_through_json() -> None:
    state = EpisodeState()
    obs = DriftObservation("2020-01-02", True, ["room_type"], 0.5, False)
    assert len(observe(state, obs, "dev").alerts) == 1
    restored = EpisodeState.from_json(json.loads(json.dumps(state.to_json())))
    assert (
        observe(restored, DriftObservation("2020-01-03", True, ["room_type"], 0.5, False), "dev").alerts == []
    )
