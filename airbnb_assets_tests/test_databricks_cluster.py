"""The emulated cluster is a Databricks Runtime 17.3 LTS of its own, and the project fits it.

Its Python shares nothing with the orchestrator's; a library the run asks for is installed by pip
and a bad pin fails the Dagster step with pip's message (through Pipes, on the run's cluster); a
``RUN_AS`` that is not the submitter stops a run before any cluster exists; the cluster's pins
agree with the runtime's libraries and the code calls only what PySpark 4.0 has.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airbnb_assets.platform.databricks import CLUSTER_REQUIREMENTS, RUNTIME_PROVIDED, cluster_pins
from airbnb_assets_tests.conftest import snapshot_file
from airbnb_assets_tests.databricks_emulator import environment
from airbnb_assets_tests.databricks_emulator.server import Workspace
from airbnb_assets_tests.databricks_emulator.testbed import (
    SCOPES,
    airbnb,
    emulated_test_env,
    land_sample,
    step_failure,
    upload_wheel,
)

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import importlib.util, json, sys
import pyspark
found = importlib.util.find_spec("airbnb_assets")
runtime_mx = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
report = {
    "python": list(sys.version_info[:2]), "executable": sys.executable, "path": sys.path,
    "pyspark": pyspark.__version__, "spark": spark.version,
    "airbnb_assets": found.origin if found else None,
    "jvm": {
        "args": list(runtime_mx.getInputArguments()),
        "classpath": spark._jvm.System.getProperty("java.class.path"),
        "home": spark._jvm.System.getProperty("java.home"),
        "cwd": spark._jvm.System.getProperty("user.dir"),
        "jars": spark.sparkContext.getConf().get("spark.jars", ""),
        "packages": spark.sparkContext.getConf().get("spark.jars.packages", ""),
    },
    "delta": spark.range(3).write.format("delta").mode("overwrite").save(sys.argv[1]) or
             spark.read.format("delta").load(sys.argv[1]).count(),
}
if found:
    from importlib import metadata
    report["requires"] = len(metadata.requires("airbnb_assets") or [])
print("PROBE " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with Workspace(secrets=SCOPES) as ws:
        yield ws


def probe(ws: Workspace, tmp_path: Path, libraries: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the probe on a new job cluster and return what it reported."""
    from databricks.sdk import WorkspaceClient

    script = "/Volumes/spark_catalog/ops/probe/probe.py"
    local = Path(ws.local(script))
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(PROBE)
    client = WorkspaceClient(host=ws.host, token=ws.token)
    body = {
        "run_name": "probe",
        "tasks": [
            {
                "task_key": "probe",
                "new_cluster": {
                    "spark_version": "17.3.x-scala2.13",
                    "num_workers": 0,
                    "data_security_mode": "SINGLE_USER",
                    "single_user_name": ws.user,
                },
                "libraries": libraries,
                "spark_python_task": {"python_file": script, "parameters": [str(tmp_path / "delta")]},
            }
        ],
    }
    run_id = client.api_client.do("POST", "/api/2.2/jobs/runs/submit", body=body)["run_id"]
    run = ws.runs[run_id]
    deadline = time.monotonic() + 600
    while run.life_cycle != "TERMINATED":
        assert time.monotonic() < deadline, "the probe did not finish"
        time.sleep(0.5)
    assert run.result == "SUCCESS", run.message + run.log_tail()
    assert run.cluster is not None and run.cluster.state == "TERMINATED"  # a job cluster ends with its run
    (line,) = [x for x in Path(run.output).read_text().splitlines() if x.startswith("PROBE ")]
    return json.loads(line.removeprefix("PROBE "))


@pytest.mark.e2e
def test_the_cluster_runs_the_runtime_and_imports_the_project_only_from_its_wheel(
    workspace: Workspace, tmp_path: Path
) -> None:
    bare = probe(workspace, tmp_path / "bare", [])
    assert bare["python"] == [3, 12] and bare["pyspark"] == "4.0.0" and bare["spark"] == "4.0.0"
    assert bare["delta"] == 3
    assert bare["airbnb_assets"] is None  # neither the checkout nor the orchestrator's venv is there
    assert environment.leaks(bare["path"]) == []
    assert not bare["executable"].startswith(str(REPO / ".venv"))
    # The driver maps the runtime's class archive: with -Xshare:on its Java refuses to start when
    # the archive does not fit its classpath (as with Spark SQL's jar left out).
    jvm = bare["jvm"]
    archive = environment.class_archive(environment.runtime())
    assert f"-XX:SharedArchiveFile={archive}" in jvm["args"] and "-XX:TieredStopAtLevel=1" in jvm["args"]
    assert "-XX:ReservedCodeCacheSize=240m" in jvm["args"]  # C1's 48 MB filled on a declared cluster
    java = [f"{jvm['home']}/bin/java", "-Xshare:on", f"-XX:SharedArchiveFile={archive}"]
    mapped = subprocess.run([*java, "-cp", jvm["classpath"], "-version"], cwd=jvm["cwd"], capture_output=True)
    assert mapped.returncode == 0, mapped.stderr
    fewer = ":".join(e for e in jvm["classpath"].split(":") if "/spark-sql_" not in e)
    refused = subprocess.run(
        [*java, "-cp", fewer, "-version"], cwd=jvm["cwd"], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "shared class paths mismatch" in refused.stderr
    # Delta's jars are the ones the runtime's build resolved (as DBR ships them): no Ivy at start.
    assert jvm["jars"] == environment.delta_jars(environment.runtime()) and "delta-spark" in jvm["jars"]
    assert jvm["packages"] == ""

    wheel = upload_wheel(workspace)
    pins = [{"pypi": {"package": pin}} for pin in cluster_pins()]
    installed = probe(workspace, tmp_path / "wheel", [*pins, {"whl": wheel}])
    origin = installed["airbnb_assets"]
    assert (
        origin and environment.leaks([origin]) == [] and not origin.startswith(str(REPO / "airbnb_assets"))
    ), origin
    assert "site-packages" in origin and installed["requires"] > 0  # an installed distribution
    assert environment.leaks(installed["path"]) == []


@pytest.mark.e2e
def test_a_wrong_library_pin_fails_the_dagster_step_with_the_installers_message(
    workspace: Workspace, tmp_path: Path
) -> None:
    bad = tmp_path / "cluster-requirements.txt"
    text = CLUSTER_REQUIREMENTS.read_text()
    assert "\nthreadpoolctl==3.5.0\n" in text
    bad.write_text(text.replace("\nthreadpoolctl==3.5.0\n", "\nthreadpoolctl==0.0.1\n"))
    env = {
        **emulated_test_env(workspace, tmp_path),
        "AIRBNB_TEST_CLUSTER_REQUIREMENTS": str(bad),
        "AIRBNB_TEST_COMPUTE": "pipes",  # its run cluster (the history's Pipes days use a declared one)
    }
    land_sample(snapshot_file("2015-05-04"), Path(env["AIRBNB_TEST_LANDING_PATH"]), rows=50)
    clusters = set(workspace.clusters)
    done = airbnb(env, "run", "--date", "2015-05-04")
    assert done.returncode == 1
    step, error = step_failure(env)
    assert step == "bronze_ingest"
    assert "Library installation failed" in error
    assert "No matching distribution found for threadpoolctl==0.0.1" in error, error
    (cluster_id,) = set(workspace.clusters) - clusters
    assert workspace.clusters[cluster_id].state == "TERMINATED"


def test_run_as_someone_else_stops_the_run_before_any_cluster_exists(
    workspace: Workspace, tmp_path: Path
) -> None:
    env = {**emulated_test_env(workspace, tmp_path), "AIRBNB_TEST_RUN_AS": "another-principal"}
    clusters = set(workspace.clusters)
    done = airbnb(env, "run", "--date", "2015-05-04")
    assert done.returncode == 1
    _, error = step_failure(env)
    assert "RUN_AS is 'another-principal' but runs are submitted as" in error and workspace.user in error
    assert set(workspace.clusters) == clusters


def test_publish_wheel_uploads_the_release_to_where_the_clusters_install_it_from(
    workspace: Workspace, tmp_path: Path
) -> None:
    from airbnb_assets.environments import release_wheel
    from airbnb_assets_tests.databricks_emulator.testbed import built_wheel

    env = emulated_test_env(workspace, tmp_path)
    del env["AIRBNB_TEST_WHEEL"]  # the default: this release's path on the lakehouse volume
    wheel = built_wheel()
    done = airbnb(env, "publish-wheel", str(wheel))
    assert done.returncode == 0, done.stdout + done.stderr
    target = done.stdout.splitlines()[0]
    assert target == f"{release_wheel('spark_catalog').rsplit('/', 1)[0]}/{wheel.name}"
    assert Path(workspace.local(target)).read_bytes() == wheel.read_bytes()
    assert any(r.method == "PUT" and r.path == f"/api/2.0/fs/files{target}" for r in workspace.requests)
    refused = airbnb(env, "publish-wheel", str(tmp_path / "nothing.whl"))
    assert refused.returncode == 2 and "is not a wheel of airbnb_assets" in refused.stderr


def test_the_clusters_wheel_is_built_outside_the_checkout_at_the_orchestrators_version() -> None:
    from packaging.utils import parse_wheel_filename
    from packaging.version import Version

    import airbnb_assets
    from airbnb_assets_tests.databricks_emulator.testbed import REPO, built_wheel

    metadata = sorted(REPO.glob("*.egg-info/PKG-INFO"))
    before = {p: p.stat().st_mtime_ns for p in metadata}
    wheel = built_wheel.__wrapped__()  # a new build, not the one this process cached
    assert parse_wheel_filename(wheel.name)[1] == Version(airbnb_assets.__version__)
    assert {p: p.stat().st_mtime_ns for p in metadata} == before  # the editable install's metadata
    shutil.rmtree(wheel.parent, ignore_errors=True)


def test_cluster_pins_keep_the_runtimes_libraries_and_satisfy_the_wheel() -> None:
    runtime = environment.dbr_pins()
    pins = {}
    for line in CLUSTER_REQUIREMENTS.read_text().splitlines():
        pin, _, comment = line.partition("#")
        if "==" in pin:
            name, version = pin.strip().split("==")
            pins[environment.normalize(name)] = version
            if name in runtime and runtime[name] != version:
                assert "replaces the runtime's" in comment, line
    assert not set(pins) & RUNTIME_PROVIDED
    assert not set(pins) & {
        "deltalake",
        "dagster-slack",
        "dagster-msteams",
        "dagster-webserver",
        "azure-keyvault-secrets",
    }
    replaced = sorted(n for n in pins if n in runtime and runtime[n] != pins[n])
    assert replaced == ["charset-normalizer", "fsspec", "mlflow-skinny"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    from packaging.requirements import Requirement

    for dependency in project["dependencies"]:
        wanted = Requirement(dependency)
        assert wanted.specifier.contains(pins[environment.normalize(wanted.name)]), dependency


def test_the_code_calls_only_pyspark_functions_the_runtime_has() -> None:
    used = set()
    for source in (REPO / "airbnb_assets").rglob("*.py"):
        used |= set(re.findall(r"\bF\.([a-z_]+)\(", source.read_text()))
    python = environment.runtime() / "bin" / "python"
    check = (
        "import json, sys, pyspark.sql.functions as F\n"
        "print(json.dumps([n for n in sys.argv[1:] if not hasattr(F, n)]))"
    )
    done = subprocess.run(
        [str(python), "-c", check, *sorted(used)], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [], "not in PySpark 4.0 (Databricks Runtime 17.3 LTS)"
    assert len(used) > 20


def test_the_emulator_refuses_what_it_does_not_implement(workspace: Workspace) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound

    client = WorkspaceClient(host=workspace.host, token=workspace.token)
    with pytest.raises(NotFound):
        client.clusters.list_node_types()
    assert workspace.unimplemented[-1].endswith("/clusters/list-node-types")
    workspace.unimplemented.clear()
