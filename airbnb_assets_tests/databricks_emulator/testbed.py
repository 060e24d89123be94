"""A TEST environment on the emulator: its variables, its folders, and the CLI run against it.

:func:`emulated_test_env` is what a user exports to run ``daily_job`` on TEST, except that the
workspace is the emulator and three values are local: the catalog is ``spark_catalog`` in a
persistent Derby metastore (the cluster's Spark conf), the lakehouse and landing folders are
temporary folders (on Databricks: UC volumes), and MLflow tracks to SQLite (on Databricks:
``databricks`` / ``databricks-uc``, which the emulator does not serve).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path

import dagster as dg

from airbnb_assets.platform.spark import metastore_conf
from airbnb_assets_tests.databricks_emulator.server import Workspace
from benchmarks.samples import head_records

REPO = Path(__file__).resolve().parents[2]
#: The secret store of the emulated Key Vault-backed scope (the alert webhook's URL is a secret).
SECRET_WEBHOOK = "https://hooks.example.invalid/services/T0/B0/emulator-secret-4f2a"
SCOPES = {"airbnb-test": {"airbnb-alert-webhook-url": SECRET_WEBHOOK}}
#: Submitted runs of a labelled day, one per Spark asset: daily_job's bronze, silver, gold,
#: predictions, drift and dashboard, and retrain_job's model.
SPARK_STEPS = 7


def catalog_conf(root: Path) -> dict[str, str]:
    """Spark conf of the emulated cluster: a persistent Hive metastore (Derby) under the lakehouse."""
    return metastore_conf(str(root / "test" / "_metastore"))


#: Where CI would upload the release's wheel (a Unity Catalog volume).
WHEEL_VOLUME = "/Volumes/spark_catalog/ops/releases"


#: What the wheel is built from: the package and the files its metadata names.
WHEEL_SOURCES = ("airbnb_assets", "pyproject.toml", "setup.cfg", "README.md")


@functools.cache
def built_wheel() -> Path:
    """The project's wheel, built from this checkout once per process (``uv build``; removed at exit).

    It is built from a copy of :data:`WHEEL_SOURCES`, at the version the orchestrator's package
    reports (``SETUPTOOLS_SCM_PRETEND_VERSION``), as a release's wheel and orchestrator share one:
    setuptools writes ``airbnb_assets.egg-info`` and ``build/`` where it builds, and built in the
    checkout it rewrote the metadata the editable install reads, mid-run (on an uncommitted tree
    with a new dirty version, so ``airbnb_assets.__version__`` and the metadata disagreed).
    """
    import airbnb_assets

    out = Path(tempfile.mkdtemp(prefix="airbnb-wheel-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    source = out / "source"
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    env = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": airbnb_assets.__version__}
    uv = shutil.which("uv") or "uv"
    build = [uv, "build", "-q", "--wheel", "--out-dir", str(out), str(source)]
    subprocess.run(build, check=True, cwd=source, env=env)
    (wheel,) = out.glob("airbnb_assets-*.whl")
    return wheel


def upload_wheel(ws: Workspace) -> str:
    """Put the project's wheel on the workspace's volume, as a release does; its volume path."""
    wheel = built_wheel()
    target = f"{WHEEL_VOLUME}/{wheel.name}"
    local = Path(ws.local(target))
    local.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, local)
    return target


def emulated_test_env(ws: Workspace, base: Path) -> dict[str, str]:
    """The process environment of ``AIRBNB_ENV=test`` against the emulator, under ``base``."""
    root, landing, home = base / "lakehouse", base / "landing", base / "dagster_home"
    for folder in (root, landing, home):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    keep = ("PATH", "HOME", "JAVA_HOME", "LANG", "TMPDIR", "PYSPARK_PYTHON", "VIRTUAL_ENV")
    return {
        **{k: os.environ[k] for k in keep if k in os.environ},
        "AIRBNB_ENV": "test",
        "DAGSTER_HOME": str(home),
        "DATABRICKS_HOST": ws.host,
        "DATABRICKS_TOKEN": ws.token,
        "AIRBNB_TEST_CATALOG": "spark_catalog",
        "AIRBNB_TEST_LAKEHOUSE_ROOT": str(root),
        "AIRBNB_TEST_LANDING_PATH": str(landing),
        "AIRBNB_TEST_SPARK_CONF": json.dumps(catalog_conf(root)),
        "AIRBNB_TEST_MLFLOW_TRACKING_URI": f"sqlite:///{root}/test/_mlflow/mlflow.db",
        "AIRBNB_TEST_STAGING_PREFIX": f"/dagster_staging/{base.name}",
        "AIRBNB_TEST_POLL_INTERVAL": "0.5",
        "AIRBNB_TEST_AUTOLOADER": "0",  # OSS Spark has no cloudFiles source: the local emulation reads
        "AIRBNB_TEST_WHEEL": upload_wheel(ws),
        "AIRBNB_TEST_PIPES_VOLUME": f"/Volumes/spark_catalog/ops/pipes/{base.name}",
        "AIRBNB_ALERT_BACKEND": "webhook",
        "AIRBNB_ALERT_WEBHOOK_URL": SECRET_WEBHOOK,
    }


def airbnb(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the ``airbnb`` CLI with ``env`` (as a user would), capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "airbnb_assets.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def airbnb_background(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start the ``airbnb`` CLI without waiting (to interrupt it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "airbnb_assets.cli", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


#: Records per landed snapshot in the emulator's tests: enough to train, score and judge drift;
#: the cluster's fixed costs (a Python process per step), not the rows, dominate a step there.
SAMPLE_ROWS = 2000


def land_sample(day_file: Path, landing: Path, rows: int = SAMPLE_ROWS) -> Path:
    """Land the header and first ``rows`` records of a packaged snapshot under its own name."""
    return head_records(day_file, landing / day_file.name, rows)


def instance(env: dict[str, str]) -> dg.DagsterInstance:
    """The Dagster instance of the environment's runs (its ``DAGSTER_HOME``)."""
    from dagster._core.instance.ref import InstanceRef

    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"]))


def run_ids(env: dict[str, str]) -> set[str]:
    """The ids of every Dagster run in the environment's instance."""
    return {r.dagster_run.run_id for r in instance(env).get_run_records()}


def events(
    env: dict[str, str], job: str, kind: dg.DagsterEventType, runs: Collection[str] | None = None
) -> list[dg.DagsterEvent]:
    """The events of type ``kind`` of every run of ``job`` in the environment's instance (or of ``runs``)."""
    store, found = instance(env), []
    for record in store.get_run_records(dg.RunsFilter(job_name=job)):
        if runs is not None and record.dagster_run.run_id not in runs:
            continue
        records = store.get_records_for_run(record.dagster_run.run_id, of_type=kind).records
        found += [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
    return found


def step_failure(env: dict[str, str]) -> tuple[str, str]:
    """The failed step of the environment's one ``daily_job`` run: its key and its error's text."""
    (record,) = instance(env).get_run_records(dg.RunsFilter(job_name="daily_job"))
    (event,) = events(env, "daily_job", dg.DagsterEventType.STEP_FAILURE)
    error = event.step_failure_data.error
    return str(event.step_key), error.to_string() if error else ""
