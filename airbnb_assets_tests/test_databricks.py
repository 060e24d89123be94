"""TEST on Databricks, proven on the local workspace emulator: ``airbnb`` CLI → step launcher → runs.

One real snapshot runs through ``daily_job`` with ``AIRBNB_ENV=test``: every Spark step is zipped,
uploaded to the emulator's DBFS and executed there on a "cluster" (a subprocess on local Spark +
Delta, ``spark_catalog`` tables in a Derby metastore). The tests read what the cluster wrote and
what the launcher sent.
"""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from deltalake import DeltaTable

from airbnb_assets.environments import Env, settings_for
from airbnb_assets.platform.databricks import cluster_config, libraries
from airbnb_assets.platform.tables import BRONZE, GOLD, PREDICTIONS, SILVER, Table
from airbnb_assets_tests.conftest import build_gold, csv_data_rows, snapshot_file
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import (
    SCOPES,
    SECRET_WEBHOOK,
    airbnb,
    airbnb_background,
    emulated_test_env,
)
from airbnb_assets_tests.platform.test_databricks import locked_versions

DAY = "2015-05-04"
SPARK_STEPS = 7  # bronze, silver, gold, predictions, drift, model, dashboard


@dataclass
class EmulatedRun:
    """The emulator, the environment and the outcome of one ``airbnb run`` on TEST."""

    ws: Workspace
    env: dict[str, str]
    base: Path
    output: str
    returncode: int

    def table(self, table: Table) -> DeltaTable:
        return DeltaTable(
            f"{self.env['AIRBNB_TEST_LAKEHOUSE_ROOT']}/test/{table.schema_name}/{table.table_name}"
        )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    with Workspace(volumes_dir=str(tmp_path_factory.mktemp("volumes")), secrets=SCOPES) as ws:
        yield ws


@pytest.fixture(scope="module")
def test_run(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> EmulatedRun:
    base = tmp_path_factory.mktemp("databricks_test")
    env = emulated_test_env(workspace, base)
    shutil.copy(snapshot_file(DAY), env["AIRBNB_TEST_LANDING_PATH"])
    boot = airbnb(env, "bootstrap")
    assert boot.returncode == 0, boot.stdout + boot.stderr
    done = airbnb(env, "run", "--date", DAY)
    return EmulatedRun(workspace, env, base, done.stdout + done.stderr, done.returncode)


def submitted(ws: Workspace) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in ws.calls("POST", "/api/2.2/jobs/runs/submit")]


def uploads(ws: Workspace) -> dict[str, bytes]:
    """Every file uploaded through DBFS, by path (decoded from the add-block requests)."""
    paths = {}
    for create, response_handle in zip(
        ws.calls("POST", "/api/2.0/dbfs/create"), range(1, 10**6), strict=False
    ):
        paths[response_handle] = json.loads(create.body)["path"]
    files: dict[str, bytes] = {}
    for block in ws.calls("POST", "/api/2.0/dbfs/add-block"):
        body = json.loads(block.body)
        path = paths[int(body["handle"])]
        files[path] = files.get(path, b"") + base64.b64decode(body["data"])
    return files


@pytest.mark.e2e
def test_daily_job_on_test_runs_every_spark_step_on_the_cluster_with_dev_row_counts(
    test_run: EmulatedRun, spark
) -> None:
    assert test_run.returncode == 0, test_run.output
    ws = test_run.ws
    assert ws.unimplemented == []
    runs = [run for run in ws.runs.values() if run.request.get("run_name") == "airbnb_assets test"]
    assert len(runs) == SPARK_STEPS + 1  # + the bootstrap job
    assert {run.result for run in runs} == {"SUCCESS"}
    path = snapshot_file(DAY)
    gold_rows = build_gold(spark, [path]).count()  # DEV's transforms on the same file
    assert test_run.table(BRONZE).to_pyarrow_table().num_rows == len(csv_data_rows(path))
    assert test_run.table(SILVER).to_pyarrow_table().num_rows == gold_rows
    assert test_run.table(GOLD).to_pyarrow_table().num_rows == gold_rows
    assert test_run.table(PREDICTIONS).to_pyarrow_table().num_rows == 0  # day 1: no champion yet, as in DEV
    inst = dg.DagsterInstance.from_ref(InstanceRef.from_dir(test_run.env["DAGSTER_HOME"]))
    (record,) = inst.get_run_records(dg.RunsFilter(job_name="daily_job"))
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    materialized = {
        e.asset_key.to_user_string()
        for e in inst.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        if e.asset_key
    }
    assert {"bronze/listings", "silver/listings", "gold/listing_features", "ml/price_model"} <= materialized


@pytest.mark.e2e
def test_submitted_payload_is_the_declared_cluster_with_locked_libraries_and_no_secret(
    test_run: EmulatedRun,
) -> None:
    assert test_run.returncode == 0, test_run.output
    settings = settings_for(Env.TEST, test_run.env)
    assert settings.cluster is not None
    declared = cluster_config(settings.cluster, "test")["new"]
    locked = locked_versions()
    for body in submitted(test_run.ws)[1:]:  # the first is the bootstrap job
        (task,) = body["tasks"]
        cluster = task["new_cluster"]
        assert cluster["spark_version"] == declared["spark_version"]
        assert cluster["node_type_id"] == declared["nodes"]["node_types"]["node_type_id"]
        assert cluster["num_workers"] == 0
        assert cluster["spark_conf"] == declared["spark_conf"]
        assert task["libraries"] == libraries()
        pins = dict(lib["pypi"]["package"].split("==") for lib in task["libraries"])
        assert pins == {name: locked[name] for name in pins}
        assert task["spark_python_task"]["python_file"].endswith("databricks_step_main.py")
    files = uploads(test_run.ws)
    configs = [pickle.loads(data) for path, data in files.items() if path.endswith("config.pkl")]
    assert len(configs) == SPARK_STEPS + 1
    for config in configs:
        assert config.env_variables == settings.forwarded
        assert config.secrets == [
            {"name": "AIRBNB_ALERT_WEBHOOK_URL", "key": "airbnb-alert-webhook-url", "scope": "airbnb-test"}
        ]
    secrets = (SECRET_WEBHOOK, test_run.ws.token)
    for request in test_run.ws.requests:
        assert not any(s in request.body for s in secrets), request.path
    for path, data in files.items():
        plain = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert not any(s.encode() in plain for s in secrets), path


@pytest.mark.e2e
def test_a_failing_step_shows_the_clusters_error_and_an_interrupted_run_is_cancelled(
    workspace: Workspace, tmp_path: Path
) -> None:
    env = emulated_test_env(workspace, tmp_path)
    landing = Path(env["AIRBNB_TEST_LANDING_PATH"])
    landing.rmdir()
    landing.write_text("not a folder")  # bronze cannot create the landing folder on the cluster
    failed = airbnb(env, "run", "--date", DAY)
    assert failed.returncode == 1
    inst = dg.DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))
    (record,) = inst.get_run_records(dg.RunsFilter(job_name="daily_job"))
    failures = inst.get_records_for_run(
        record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    (failure,) = [f.event_log_entry.dagster_event for f in failures if f.event_log_entry.dagster_event]
    error = failure.step_failure_data.error
    assert failure.step_key == "bronze_ingest"
    assert "FileExistsError" in error.to_string() and str(landing) in error.to_string()

    landing.unlink()
    landing.mkdir()
    shutil.copy(snapshot_file(DAY), landing)
    before = set(workspace.runs)
    process = airbnb_background(env, "run", "--date", DAY)
    deadline = time.monotonic() + 300
    while not any(workspace.runs[r].life_cycle == "RUNNING" for r in set(workspace.runs) - before):
        assert time.monotonic() < deadline and process.poll() is None, "no run started on the cluster"
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    (run_id,) = set(workspace.runs) - before
    assert workspace.runs[run_id].result == "CANCELED", output
    assert any(
        json.loads(c.body)["run_id"] == run_id for c in workspace.calls("POST", "/api/2.2/jobs/runs/cancel")
    )
    assert process.returncode != 0


def test_the_emulator_refuses_what_it_does_not_implement(workspace: Workspace) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound

    client = WorkspaceClient(host=workspace.host, token=workspace.token)
    with pytest.raises(NotFound):
        client.clusters.list_node_types()
    assert workspace.unimplemented[-1].endswith("/clusters/list-node-types")
    workspace.unimplemented.clear()


PIPES_BRONZE = """
import sys
import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
repo = ReconstructableRepository.for_module("airbnb_assets.definitions", "location_definitions")
result = dg.execute_job(
    repo.get_reconstructable_job("daily_job"),
    instance=dg.DagsterInstance.get(),
    tags={"dagster/partition": sys.argv[1]},
    asset_selection=[dg.AssetKey(["bronze", "listings"]), dg.AssetKey(["ops", "landing_files"])],
)
sys.exit(0 if result.success else 1)
"""


@pytest.mark.e2e
def test_the_pipes_variant_runs_the_same_asset_on_the_cluster_and_reports_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    env = {**emulated_test_env(workspace, tmp_path), "AIRBNB_TEST_COMPUTE": "pipes"}
    shutil.copy(snapshot_file(DAY), env["AIRBNB_TEST_LANDING_PATH"])
    assert airbnb(env, "bootstrap").returncode == 0
    before = set(workspace.runs)
    done = subprocess.run(
        [sys.executable, "-c", PIPES_BRONZE, DAY], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_id,) = [
        r
        for r in set(workspace.runs) - before
        if "pipes" in (workspace.runs[r].request.get("run_name") or "")
    ]
    task = workspace.runs[run_id].task
    assert task["spark_python_task"]["python_file"].endswith("/remote.py")
    assert "DAGSTER_PIPES_CONTEXT" in task["new_cluster"]["spark_env_vars"]
    assert task["new_cluster"]["spark_env_vars"]["AIRBNB_ALERT_WEBHOOK_URL"] == (
        "{{secrets/airbnb-test/airbnb-alert-webhook-url}}"
    )
    inst = dg.DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))
    event = inst.get_latest_materialization_event(BRONZE.key)
    assert event is not None and event.asset_materialization is not None
    rows = event.asset_materialization.metadata["rows_written"].value
    path = snapshot_file(DAY)
    assert rows == len(csv_data_rows(path))
    root = env["AIRBNB_TEST_LAKEHOUSE_ROOT"]
    assert DeltaTable(f"{root}/test/bronze/listings").to_pyarrow_table().num_rows == rows
    assert workspace.unimplemented == []
