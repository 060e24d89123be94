"""TEST on Databricks, on the local emulator: a history that moves from Pipes to the step launcher.

One lakehouse and one registry (``AIRBNB_ENV=test``, samples of two real snapshots) served by two
emulated workspaces in turn, each an ``airbnb`` command with the variables a user exports:

1. a Unity Catalog workspace whose DBFS root is disabled, with ``AIRBNB_TEST_COMPUTE=pipes`` on
   the team's all-purpose cluster (``AIRBNB_TEST_CLUSTER_ID``, created beforehand with none of
   the run's variables in its environment): ``airbnb bootstrap``, then ``airbnb run`` for
   2015-05-04 -- ``daily_job`` and the retrain it requests, each Spark asset's twin uploading its
   entrypoint and Pipes files to a volume (Files API) and submitting to that cluster, the run's
   variables and secret references riding with each submission;
2. a workspace with DBFS root and the default compute, the step launcher: ``airbnb bootstrap``
   again (it creates nothing), then ``airbnb run`` for 2016-07-02, every Spark step zipped, staged
   on DBFS and executed on a cluster of its run's own, where the day is scored by the version day
   one registered.

Every cluster is an emulated Databricks Runtime 17.3 LTS (Python 3.12, Spark 4.0, the runtime's
libraries, the project's wheel installed from a volume; :mod:`~airbnb_assets_tests.databricks_emulator`).
The compute is configuration only, so one history proves both: a day on run clusters costs a
cold cluster per Dagster run, and a history per compute ran one day more, 69-175 s more of a
worker's time in three pairs of suite runs (``benchmarks/RESULTS.md``, figure 4). The declared
cluster stays warm for the first workspace's three runs, as a team's shared TEST cluster does.
The tests read what the clusters wrote and what the orchestrator sent.
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

import dagster as dg
import pytest

from airbnb_assets.environments import Env, settings_for
from airbnb_assets.platform.databricks import cluster_config, cluster_task, libraries
from airbnb_assets_tests.conftest import build_gold, csv_data_rows, snapshot_file
from airbnb_assets_tests.databricks_emulator.history import EmulatedDays, Leg, check_days, run_days
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import (
    SCOPES,
    SECRET_WEBHOOK,
    SPARK_STEPS,
    airbnb,
    airbnb_background,
    catalog_conf,
    emulated_test_env,
    events,
    land_sample,
    step_failure,
)

DAYS = ("2015-05-04", "2016-07-02")


@pytest.fixture(scope="module")
def uc_workspace() -> Iterator[Workspace]:
    """A Unity Catalog workspace whose DBFS root is disabled (volumes only)."""
    with Workspace(secrets=SCOPES, dbfs_root=False) as ws:
        yield ws


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    """A workspace with DBFS root (what the step launcher stages on)."""
    with Workspace(secrets=SCOPES) as ws:
        yield ws


@pytest.fixture(scope="module")
def days(
    uc_workspace: Workspace, workspace: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> EmulatedDays:
    first, second = (snapshot_file(d) for d in DAYS)
    base = tmp_path_factory.mktemp("databricks")
    team = declared_cluster(uc_workspace, base)
    legs = [
        Leg(uc_workspace, "pipes", cluster_id=team),
        Leg(uc_workspace, "pipes", first, cluster_id=team),
        Leg(workspace, "step_launcher"),
        Leg(workspace, "step_launcher", second),
    ]
    return run_days(base, legs)


def declared_cluster(ws: Workspace, base: Path) -> str:
    """The team's all-purpose TEST cluster for the history under ``base``, created as an
    administrator would (Clusters API): the environment's declared runtime, size and Spark conf
    (:func:`emulated_test_env`'s), and an environment of its own, without the run's variables."""
    from databricks.sdk import WorkspaceClient

    conf = {"AIRBNB_TEST_SPARK_CONF": json.dumps(catalog_conf(base / "lakehouse"))}
    spec = settings_for(Env.TEST, conf).cluster
    assert spec is not None
    body = {**cluster_task(spec, "test", {})["new_cluster"], "cluster_name": "airbnb test (team)"}
    del body["spark_env_vars"]
    body["single_user_name"] = ws.user
    return WorkspaceClient(host=ws.host, token=ws.token).api_client.do(
        "POST", "/api/2.1/clusters/create", body=body
    )["cluster_id"]


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
        assert len(days.outcomes[day].runs) == SPARK_STEPS  # one submitted run per Spark step
    assert [o.ws.dbfs_root for o in days.outcomes.values()] == [False, False, True, True]
    assert all(ws.unimplemented == [] for ws in days.workspaces)
    # The second workspace's bootstrap found every schema and table the first one created.
    first, again = (days.outcomes[f"bootstrap ({c})"].output.splitlines() for c in ("pipes", "step_launcher"))
    assert any(line.startswith("created") for line in first), first
    assert any(line.startswith("found") for line in again), again
    assert not any(line.startswith("created") for line in again), again


@pytest.mark.e2e
def test_a_day_through_pipes_without_dbfs_root_reports_every_asset_and_check(days: EmulatedDays) -> None:
    ws = days.outcomes[DAYS[0]].ws  # the Pipes workspace: its bootstrap and day one
    assert [r.path for r in ws.requests if r.path.startswith("/api/2.0/dbfs/")] == []
    volume = days.env["AIRBNB_TEST_PIPES_VOLUME"]
    submissions = ws.calls("POST", "/api/2.2/jobs/runs/submit")
    for request in submissions:
        (task,) = json.loads(request.body)["tasks"]
        assert task["existing_cluster_id"] == days.outcomes[DAYS[0]].declared  # the team's cluster
        assert task["spark_python_task"]["python_file"].startswith(f"{volume}/")
        assert "--dagster-pipes-context" in task["spark_python_task"]["parameters"]
    # Its environment is not the run's: each submission's Pipes context carried the run's
    # variables, and the webhook's secret as its scope and key.
    contexts = [
        json.loads(r.body)["extras"]
        for r in ws.requests
        if r.method == "PUT"
        and r.path.startswith(f"/api/2.0/fs/files{volume}/")
        and r.path.endswith("/context.json")
    ]
    assert len(contexts) == len(submissions) > 0
    for extras in contexts:
        assert extras["environment"]["AIRBNB_TEST_CATALOG"] == days.env["AIRBNB_TEST_CATALOG"]
        assert "AIRBNB_ALERT_WEBHOOK_URL" not in extras["environment"]
        assert (extras["secret_scope"], extras["secrets"]) == (
            "airbnb-test",
            {"AIRBNB_ALERT_WEBHOOK_URL": "airbnb-alert-webhook-url"},
        )
    materialized, checks = reported(days.env, days.outcomes[DAYS[0]].dagster_runs)
    assert materialized == job_assets("daily_job") | job_assets("retrain_job")  # each table of each step
    # Every checked asset's checks came back through Pipes, and no blocking (ERROR) check failed.
    assert {key.split(":")[0] for key in checks} == {
        "silver/listings",
        "gold/listing_features",
        "gold/price_predictions",
        "monitoring/drift_report",
        "ml/price_model",
    }
    assert checks["silver/listings:rows_reconcile_with_bronze"] == (True, "ERROR")
    assert [key for key, (passed, severity) in checks.items() if severity == "ERROR" and not passed] == []


def job_assets(name: str) -> set[str]:
    """The asset keys a job of the code location materializes."""
    from airbnb_assets.definitions import defs

    return {key.to_user_string() for key in defs.resolve_job_def(name).asset_layer.selected_asset_keys}


def reported(env: dict[str, str], runs: list[str]) -> tuple[set[str], dict[str, tuple[bool, str]]]:
    """The asset keys ``runs`` materialized, and each check's (passed, severity), from Dagster."""
    materialized: set[str] = set()
    checks: dict[str, tuple[bool, str]] = {}
    for job in ("daily_job", "retrain_job"):
        for event in events(env, job, dg.DagsterEventType.ASSET_MATERIALIZATION, runs):
            materialized.add(event.asset_key.to_user_string())
        for event in events(env, job, dg.DagsterEventType.ASSET_CHECK_EVALUATION, runs):
            data = event.event_specific_data
            key = f"{data.asset_key.to_user_string()}:{data.check_name}"
            checks[key] = (data.passed, data.severity.value)
    return materialized, checks


@pytest.mark.e2e
def test_the_cluster_is_the_declared_one_dedicated_to_the_submitter_with_the_wheel_and_no_secret(
    days: EmulatedDays,
) -> None:
    settings = settings_for(Env.TEST, days.env)
    assert settings.cluster is not None
    declared = cluster_config(settings.cluster, "test")["new"]
    team, ws = (days.outcomes[day].ws for day in DAYS)  # the declared cluster's, the launcher's
    # The team's cluster, created before the history; no run created another there.
    (made,) = team.calls("POST", "/api/2.1/clusters/create")
    assert json.loads(made.body)["cluster_name"] == "airbnb test (team)"
    # One cluster per Dagster run without one declared: the bootstrap, daily_job and its retrain.
    creates = [json.loads(r.body) for r in ws.calls("POST", "/api/2.1/clusters/create")]
    assert len(creates) == 3
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
    for body, on in [(b, w) for w in days.workspaces for b in submitted(w)]:
        (task,) = body["tasks"]
        assert task["existing_cluster_id"] in on.clusters and "new_cluster" not in task
        assert task["libraries"] == libraries(wheel) and task["libraries"][-1] == {"whl": wheel}
        names = {lib["pypi"]["package"].split("==")[0] for lib in task["libraries"][:-1]}
        assert {"dagster", "mlflow", "evidently"} <= names
        assert not names & {"pyspark", "delta-spark", "py4j", "deltalake", "dagster-slack", "dagster-msteams"}
        assert not any(n.startswith("azure-keyvault") or n == "dagster-webserver" for n in names)
    secrets = (SECRET_WEBHOOK, ws.token)
    for request in [r for w in days.workspaces for r in w.requests]:
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


def test_a_failed_command_keeps_its_clusters_whole_logs_and_their_runs_outputs(tmp_path: Path) -> None:
    """What :func:`driver_logs` keeps when a leg fails: the workspace deletes them when it closes."""
    from types import SimpleNamespace

    from airbnb_assets_tests.databricks_emulator.history import driver_logs

    def log(name: str, lines: int) -> Path:
        path = tmp_path / name
        path.write_text("".join(f"{name} line {i}\n" for i in range(lines)), encoding="utf-8")
        return path

    clusters = {c: SimpleNamespace(log=log(f"{c}.log", 40)) for c in ("c1", "c2", "c3")}
    runs = {
        1: SimpleNamespace(run_id=1, cluster_id="c1", output=log("run1.out", 3)),
        2: SimpleNamespace(run_id=2, cluster_id="c3", output=log("run2.out", 3)),  # not a failed leg's
        3: SimpleNamespace(run_id=3, cluster_id="c2", output=tmp_path / "never-written.out"),
    }
    ws = SimpleNamespace(clusters=clusters, runs=runs)
    keep = tmp_path / "failed" / "2016-07-02"
    text = driver_logs(ws, ["c1", "c2"], lines=5, keep=keep)  # type: ignore[arg-type]
    assert sorted(p.name for p in keep.iterdir()) == ["driver-c1.log", "driver-c2.log", "run-1.log"]
    assert (keep / "driver-c1.log").read_text(encoding="utf-8") == clusters["c1"].log.read_text(
        encoding="utf-8"
    )
    assert f"--- driver log of c2 (last 5 lines, whole logs in {keep}) ---" in text
    assert "c1.log line 39" in text and "c1.log line 34" not in text  # the tail, in the message
