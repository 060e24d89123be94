"""A submitted run, executed for real on a local "cluster" (a subprocess on local Spark + Delta).

The run's task must be a ``spark_python_task``. Its cluster (``new_cluster``; an
``existing_cluster_id`` runs with an empty spec) gives the Spark conf and the environment
variables; ``{{secrets/<scope>/<key>}}`` references in them are resolved from the workspace's
secret store, as Databricks does. PyPI libraries are "installed" only if this interpreter has
exactly the pinned version (the emulator cannot install; a mismatch fails the run like a
library installation error). The process runs
:mod:`~airbnb_assets_tests.databricks_emulator.runtime`, which provides what a Databricks runtime
does, then the task's file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airbnb_assets_tests.databricks_emulator.server import Workspace

#: The runtime's bootstrap, run by path: the cluster's Python has the libraries, not the tests.
RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime.py")
SECRET_REF = re.compile(r"\{\{secrets/([^/}]+)/([^}]+)\}\}")
#: Variables of the host process a runtime also has (Java, paths); nothing else leaks in.
INHERITED = ("PATH", "HOME", "JAVA_HOME", "LANG", "TMPDIR", "SPARK_LOCAL_IP", "PYTHONHASHSEED")


class Run:
    """One run: its request, life-cycle state, cluster and process."""

    def __init__(self, run_id: int, request: dict[str, Any], workspace: Workspace) -> None:
        self.run_id, self.request, self.workspace = run_id, request, workspace
        self.task = request["tasks"][0]
        self.cluster_spec: dict[str, Any] = self.task.get("new_cluster") or {}
        self.cluster_id = self.task.get("existing_cluster_id") or f"emulated-{run_id}"
        self.cluster_token = f"cluster-{uuid.uuid4().hex}"
        self.life_cycle, self.result, self.message = "PENDING", None, "Waiting for cluster"
        self.output = tempfile.NamedTemporaryFile(prefix=f"run-{run_id}-", suffix=".log", delete=False).name
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    def start(self) -> None:
        """Execute the run in a background thread."""
        threading.Thread(target=self._execute, daemon=True).start()

    def cancel(self) -> None:
        """Cancel the run: kill its process group, state TERMINATED / CANCELED."""
        self._cancelled = True
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
        if self.life_cycle != "TERMINATED":
            self._finish("CANCELED", "Run cancelled.")

    def log_tail(self, lines: int = 25) -> str:
        """The last lines the run's process printed."""
        with open(self.output, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])

    def as_json(self, host: str) -> dict[str, Any]:
        """The run as ``GET /api/2.2/jobs/runs/get`` returns it."""
        state: dict[str, Any] = {"life_cycle_state": self.life_cycle, "state_message": self.message}
        if self.result:
            state["result_state"] = self.result
        return {
            "job_id": self.run_id,
            "run_id": self.run_id,
            "run_name": self.request.get("run_name"),
            "state": state,
            "run_page_url": f"{host}/#job/{self.run_id}/run/1",
            "tasks": [
                {
                    "task_key": self.task.get("task_key"),
                    "run_id": self.run_id,
                    "state": state,
                    "cluster_instance": {"cluster_id": self.cluster_id},
                }
            ],
        }

    def _execute(self) -> None:
        try:
            self._check_libraries()
            task = self.task["spark_python_task"]
            python_file = self.workspace.local(task["python_file"])
            env = self._environment()
        except Exception as exc:  # a bad submission fails the run, as on Databricks
            self._finish("FAILED", str(exc), "INTERNAL_ERROR")
            return
        if self._cancelled:
            return
        self.life_cycle, self.message = "RUNNING", "In run"
        command = [sys.executable, RUNTIME, python_file]
        with open(self.output, "ab") as out:
            self._process = subprocess.Popen(
                command + list(task.get("parameters", [])),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        code = self._process.wait()
        if self._cancelled:
            return
        if code == 0:
            self._finish("SUCCESS", "")
        else:
            self._finish("FAILED", f"Workload failed (exit code {code}):\n{self.log_tail(8)}")

    def _finish(self, result: str, message: str, life_cycle: str = "TERMINATED") -> None:
        self.life_cycle, self.result, self.message = life_cycle, result, message

    def _check_libraries(self) -> None:
        for library in self.task.get("libraries", []):
            package = library.get("pypi", {}).get("package")
            if not package or "==" not in package:
                continue
            name, version = package.split("==", 1)
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                installed = None
            if installed != version:
                raise RuntimeError(f"Library installation failed: {package} (this runtime has {installed})")

    def _environment(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in INHERITED if k in os.environ}
        for key, value in (self.cluster_spec.get("spark_env_vars") or {}).items():
            env[key] = SECRET_REF.sub(self._secret, str(value))
        conf = {
            k: SECRET_REF.sub(self._secret, str(v))
            for k, v in (self.cluster_spec.get("spark_conf") or {}).items()
        }
        scopes = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        with scopes:
            json.dump(self.workspace.secrets, scopes)  # what the runtime's dbutils.secrets reads
        env.update(
            DATABRICKS_RUNTIME_VERSION=str(self.cluster_spec.get("spark_version", "emulated")),
            EMULATOR_HOST=self.workspace.host,
            EMULATOR_CLUSTER_TOKEN=self.cluster_token,
            EMULATOR_CLUSTER_ID=self.cluster_id,
            EMULATOR_SECRETS_FILE=scopes.name,
            EMULATOR_SPARK_CONF=json.dumps(conf),
            EMULATOR_SPARK_DIR=tempfile.mkdtemp(prefix=f"cluster-{self.run_id}-"),
            PYSPARK_PYTHON=sys.executable,
        )
        return env

    def _secret(self, match: re.Match[str]) -> str:
        scope, key = match.group(1), match.group(2)
        try:
            return self.workspace.secrets[scope][key]
        except KeyError:
            raise RuntimeError(f"Secret does not exist with scope: {scope} and key: {key}") from None
