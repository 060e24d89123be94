"""A TEST environment on the emulator: its variables, its folders, and the CLI run against it.

:func:`emulated_test_env` is what a user exports to run ``daily_job`` on TEST, except that the
workspace is the emulator and three values are local: the catalog is ``spark_catalog`` in a
persistent Derby metastore (the cluster's Spark conf), the lakehouse and landing folders are
temporary folders (on Databricks: UC volumes), and MLflow tracks to SQLite (on Databricks:
``databricks`` / ``databricks-uc``, which the emulator does not serve).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from airbnb_assets.platform.spark import metastore_conf
from airbnb_assets_tests.databricks_emulator.server import Workspace

REPO = Path(__file__).resolve().parents[2]
#: The secret store of the emulated Key Vault-backed scope (the alert webhook's URL is a secret).
SECRET_WEBHOOK = "https://hooks.example.invalid/services/T0/B0/emulator-secret-4f2a"
SCOPES = {"airbnb-test": {"airbnb-alert-webhook-url": SECRET_WEBHOOK}}


def catalog_conf(root: Path) -> dict[str, str]:
    """Spark conf of the emulated cluster: a persistent Hive metastore (Derby) under the lakehouse."""
    return metastore_conf(str(root / "test" / "_metastore"))


#: Where CI would upload the release's wheel (a Unity Catalog volume).
WHEEL_VOLUME = "/Volumes/spark_catalog/ops/releases"


@functools.cache
def built_wheel() -> Path:
    """The project's wheel, built from this checkout once per process (``uv build``)."""
    out = Path(tempfile.mkdtemp(prefix="airbnb-wheel-"))
    uv = shutil.which("uv") or "uv"
    subprocess.run([uv, "build", "-q", "--wheel", "--out-dir", str(out), str(REPO)], check=True, cwd=REPO)
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
