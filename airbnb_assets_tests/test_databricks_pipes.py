"""TEST on Databricks through Pipes, in a Unity Catalog workspace whose DBFS root is disabled.

The emulator refuses every DBFS call and every ``/dbfs`` path (``PERMISSION_DENIED``), as a
workspace that turned DBFS root off. ``airbnb bootstrap`` then a real day (a sample) run with
``AIRBNB_TEST_COMPUTE=pipes``: ``daily_job`` and the retrain it requests, each Spark asset's
twin uploading the entrypoint, the Pipes context and its messages to a volume (Files API) and
submitting to its run's one cluster. Every asset and check runs and reports through Pipes on
that day. A second day (scored on the cluster by the version the first registered) runs the
same asset bodies on the cluster; the default compute's test proves it
(``test_databricks.py``), and each emulated day costs a cluster's cold start per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import dagster as dg
import pytest

from airbnb_assets_tests.conftest import build_gold, csv_data_rows, snapshot_file
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import (
    SCOPES,
    SPARK_STEPS,
    EmulatedDays,
    check_days,
    events,
    run_days,
)

DAYS = ("2015-05-04",)


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with Workspace(secrets=SCOPES, dbfs_root=False) as ws:
        yield ws


@pytest.fixture(scope="module")
def days(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> EmulatedDays:
    base = tmp_path_factory.mktemp("databricks_pipes")
    return run_days(workspace, base, [snapshot_file(d) for d in DAYS], "pipes")


@pytest.mark.e2e
def test_a_day_through_pipes_without_dbfs_root_on_one_cluster_per_run(days: EmulatedDays, spark) -> None:
    gold = {day: build_gold(spark, [path]).count() for day, path in days.landed.items()}
    bronze = {day: len(csv_data_rows(path)) for day, path in days.landed.items()}
    check_days(days, gold, bronze)
    ws = days.ws
    assert [r.path for r in ws.requests if r.path.startswith("/api/2.0/dbfs/")] == []
    assert ws.unimplemented == []
    volume = days.env["AIRBNB_TEST_PIPES_VOLUME"]
    for request in ws.calls("POST", "/api/2.2/jobs/runs/submit"):
        (task,) = json.loads(request.body)["tasks"]
        assert task["existing_cluster_id"] in ws.clusters
        assert task["spark_python_task"]["python_file"].startswith(f"{volume}/")
        assert "--dagster-pipes-context" in task["spark_python_task"]["parameters"]
    assert any(r.path.startswith(f"/api/2.0/fs/files{volume}/") for r in ws.requests)
    assert len(days.outcomes[DAYS[0]].runs) == SPARK_STEPS  # one submitted run per Spark asset
    materialized, checks = reported(days.env)
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


def reported(env: dict[str, str]) -> tuple[set[str], dict[str, tuple[bool, str]]]:
    """The asset keys the day's runs materialized, and each check's (passed, severity), from Dagster."""
    materialized: set[str] = set()
    checks: dict[str, tuple[bool, str]] = {}
    for job in ("daily_job", "retrain_job"):
        for event in events(env, job, dg.DagsterEventType.ASSET_MATERIALIZATION):
            materialized.add(event.asset_key.to_user_string())
        for event in events(env, job, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            data = event.event_specific_data
            key = f"{data.asset_key.to_user_string()}:{data.check_name}"
            checks[key] = (data.passed, data.severity.value)
    return materialized, checks
