"""TEST on Databricks through Pipes, in a Unity Catalog workspace whose DBFS root is disabled.

The emulator refuses every DBFS call and every ``/dbfs`` path (``PERMISSION_DENIED``), as a
workspace that turned DBFS root off. ``airbnb bootstrap`` then two real days (samples) run with
``AIRBNB_TEST_COMPUTE=pipes``: each Spark asset's twin uploads the entrypoint, the Pipes context
and its messages to a volume (Files API) and submits to the run's one cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airbnb_assets_tests.conftest import build_gold, csv_data_rows, snapshot_file
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import SCOPES, EmulatedDays, check_days, run_days

DAYS = ("2015-05-04", "2016-07-02")


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with Workspace(secrets=SCOPES, dbfs_root=False) as ws:
        yield ws


@pytest.fixture(scope="module")
def days(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> EmulatedDays:
    base = tmp_path_factory.mktemp("databricks_pipes")
    return run_days(workspace, base, [snapshot_file(d) for d in DAYS], "pipes")


@pytest.mark.e2e
def test_two_days_through_pipes_without_dbfs_root_score_day_two_on_the_run_cluster(
    days: EmulatedDays, spark
) -> None:
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
