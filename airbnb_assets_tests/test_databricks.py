"""TEST on Databricks with the step launcher, in a workspace with DBFS root, on the local emulator.

``airbnb bootstrap`` then two real days (samples of two snapshots) run through ``daily_job`` with
``AIRBNB_ENV=test``: every Spark step is zipped, staged on DBFS and executed on the run's one
emulated cluster (Databricks Runtime 17.3 LTS: Python 3.12, Spark 4.0, the runtime's libraries,
the project's wheel installed from a volume; :mod:`~airbnb_assets_tests.databricks_emulator`).
The tests read what the cluster wrote and what the orchestrator sent.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airbnb_assets.environments import Env, settings_for
from airbnb_assets.platform.databricks import cluster_config, libraries
from airbnb_assets_tests.conftest import build_gold, csv_data_rows, snapshot_file
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import (
    SCOPES,
    SECRET_WEBHOOK,
    SPARK_STEPS,
    EmulatedDays,
    airbnb,
    airbnb_background,
    check_days,
    emulated_test_env,
    land_sample,
    run_days,
    step_failure,
)

DAYS = ("2015-05-04", "2016-07-02")


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with Workspace(secrets=SCOPES) as ws:
        yield ws


@pytest.fixture(scope="module")
def days(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> EmulatedDays:
    base = tmp_path_factory.mktemp("databricks_launcher")
    return run_days(workspace, base, [snapshot_file(d) for d in DAYS], "step_launcher")


def dev_counts(spark, days: EmulatedDays) -> tuple[dict[str, int], dict[str, int]]:  # type: ignore[no-untyped-def]
    """Gold and bronze rows per day of the landed samples, by DEV's transforms on the same files."""
    gold = {day: build_gold(spark, [path]).count() for day, path in days.landed.items()}
    bronze = {day: len(csv_data_rows(path)) for day, path in days.landed.items()}
    return gold, bronze


def submitted(ws: Workspace) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in ws.calls("POST", "/api/2.2/jobs/runs/submit")]


def uploads(ws: Workspace) -> dict[str, bytes]:
    """Every file uploaded through DBFS, by path (decoded from the add-block requests)."""
    paths = {}
    for create, handle in zip(ws.calls("POST", "/api/2.0/dbfs/create"), range(1, 10**6), strict=False):
        paths[handle] = json.loads(create.body)["path"]
    files: dict[str, bytes] = {}
    for block in ws.calls("POST", "/api/2.0/dbfs/add-block"):
        body = json.loads(block.body)
        path = paths[int(body["handle"])]
        files[path] = files.get(path, b"") + base64.b64decode(body["data"])
    return files


@pytest.mark.e2e
def test_two_days_on_test_run_every_spark_step_on_one_cluster_per_run_and_day_two_is_scored_there(
    days: EmulatedDays, spark
) -> None:
    gold, bronze = dev_counts(spark, days)
    check_days(days, gold, bronze)
    for day in DAYS:
        assert len(days.outcomes[day].runs) == SPARK_STEPS
    assert days.ws.unimplemented == []


@pytest.mark.e2e
def test_the_cluster_is_the_declared_one_dedicated_to_the_submitter_with_the_wheel_and_no_secret(
    days: EmulatedDays,
) -> None:
    ws = days.ws
    settings = settings_for(Env.TEST, days.env)
    assert settings.cluster is not None
    declared = cluster_config(settings.cluster, "test")["new"]
    creates = [json.loads(r.body) for r in ws.calls("POST", "/api/2.1/clusters/create")]
    # One cluster per Dagster run: bootstrap, and each day's daily_job and the retrain it requested.
    assert len(creates) == 1 + 2 * len(DAYS)
    for body in creates:
        assert body["spark_version"] == declared["spark_version"] == "17.3.x-scala2.13"
        assert body["node_type_id"] == declared["nodes"]["node_types"]["node_type_id"]
        assert body["num_workers"] == 0 and body["autotermination_minutes"] > 0
        assert body["data_security_mode"] == "SINGLE_USER" and body["single_user_name"] == ws.user
        assert (
            body["spark_env_vars"]["AIRBNB_ALERT_WEBHOOK_URL"]
            == "{{secrets/airbnb-test/airbnb-alert-webhook-url}}"
        )
    wheel = days.env["AIRBNB_TEST_WHEEL"]
    for body in submitted(ws):
        (task,) = body["tasks"]
        assert task["existing_cluster_id"] in ws.clusters and "new_cluster" not in task
        assert task["libraries"] == libraries(wheel) and task["libraries"][-1] == {"whl": wheel}
        names = {lib["pypi"]["package"].split("==")[0] for lib in task["libraries"][:-1]}
        assert {"dagster", "mlflow", "evidently"} <= names
        assert not names & {"pyspark", "delta-spark", "py4j", "deltalake", "dagster-slack", "dagster-msteams"}
        assert not any(n.startswith("azure-keyvault") or n == "dagster-webserver" for n in names)
    secrets = (SECRET_WEBHOOK, ws.token)
    for request in ws.requests:
        assert not any(s in request.body for s in secrets), request.path
    for path, data in uploads(ws).items():
        plain = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert not any(s.encode() in plain for s in secrets), path


@pytest.mark.e2e
def test_a_failed_and_a_cancelled_run_each_terminate_their_cluster(
    workspace: Workspace, tmp_path: Path
) -> None:
    env = emulated_test_env(workspace, tmp_path)
    landing = Path(env["AIRBNB_TEST_LANDING_PATH"])
    landing.rmdir()
    landing.write_text("not a folder")  # bronze cannot create the landing folder on the cluster
    before = set(workspace.clusters)
    failed = airbnb(env, "run", "--date", DAYS[0])
    assert failed.returncode == 1
    step, error = step_failure(env)
    assert step == "bronze_ingest"
    assert "FileExistsError" in error and str(landing) in error
    (cluster_id,) = set(workspace.clusters) - before
    assert cluster_id in workspace.terminated

    landing.unlink()
    landing.mkdir()
    land_sample(snapshot_file(DAYS[0]), landing)
    before, runs = set(workspace.clusters), set(workspace.runs)
    process = airbnb_background(env, "run", "--date", DAYS[0])
    deadline = time.monotonic() + 300
    while not any(workspace.runs[r].life_cycle == "RUNNING" for r in set(workspace.runs) - runs):
        assert time.monotonic() < deadline and process.poll() is None, "no run started on the cluster"
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    (run_id,) = set(workspace.runs) - runs
    assert workspace.runs[run_id].result == "CANCELED", output
    assert any(
        json.loads(c.body)["run_id"] == run_id for c in workspace.calls("POST", "/api/2.2/jobs/runs/cancel")
    )
    (cluster_id,) = set(workspace.clusters) - before
    assert workspace.clusters[cluster_id].state == "TERMINATED", output
    assert process.returncode != 0
    shutil.rmtree(landing)
