"""Emulated clusters and the runs executed on them, for real, in an environment of their own.

A :class:`Cluster` is created by ``clusters/create`` (an all-purpose cluster, e.g. one per
Dagster run) or by ``runs/submit`` with a ``new_cluster`` (a job cluster, terminated with its
run). Starting it builds its Python (:mod:`~airbnb_assets_tests.databricks_emulator.environment`:
Databricks Runtime 17.3 LTS on CPython 3.12, never the orchestrator's venv) and starts the
driver: one JVM with Delta and the cluster's ``spark_conf``, kept warm until the cluster is
terminated. A task's libraries are installed on the cluster before it runs (a failure fails the
run with pip's message, as Databricks' library installation does). Each task is a new Python
process attached to the driver's JVM, with the cluster's environment variables
(``{{secrets/<scope>/<key>}}`` resolved from the workspace's secret store) and the runtime's
globals (:mod:`~airbnb_assets_tests.databricks_emulator.runtime`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airbnb_assets_tests.databricks_emulator import environment

if TYPE_CHECKING:
    from airbnb_assets_tests.databricks_emulator.server import Workspace

#: The runtime's own code, copied into each cluster (never run from the repository).
RUNTIME = Path(__file__).with_name("runtime.py")
SECRET_REF = re.compile(r"\{\{secrets/([^/}]+)/([^}]+)\}\}")
#: What the runtime provides: installing these from PyPI would replace the cluster's Spark.
RUNTIME_PACKAGES = frozenset({"pyspark", "py4j", "delta-spark"})
DRIVER_START_SECONDS = 240
#: How long building a cluster's environment may take: the first cluster on a fresh checkout
#: builds the runtime, its class archive and the run's libraries (minutes, once).
ENVIRONMENT_BUILD_SECONDS = 1800


class Cluster:
    """One cluster: its spec, state, environment, warm driver and installed libraries."""

    def __init__(self, cluster_id: str, spec: dict[str, Any], workspace: Workspace, *, job: bool) -> None:
        self.cluster_id, self.spec, self.workspace, self.job = cluster_id, spec, workspace, job
        self.token = f"cluster-{uuid.uuid4().hex}"
        self.state, self.message = "PENDING", "Starting cluster"
        self.folder = Path(tempfile.mkdtemp(prefix=f"{cluster_id}-"))
        self.log = self.folder / "driver.log"
        self.python: Path | None = None
        self.installed: tuple[list[str], list[str]] | None = None
        self._driver: subprocess.Popen[bytes] | None = None
        self._gateway: dict[str, Any] = {}
        self._built = threading.Event()
        self._started = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the cluster in the background (PENDING → RUNNING, or TERMINATED with the error)."""
        threading.Thread(target=self._start, daemon=True).start()

    def wait_running(self, timeout: float = DRIVER_START_SECONDS) -> None:
        """Block until the driver is up; raise with the cluster's message if it did not start.

        ``timeout`` counts from when the cluster's environment is built (a one-time build may
        take minutes: :data:`ENVIRONMENT_BUILD_SECONDS`).
        """
        self._built.wait(ENVIRONMENT_BUILD_SECONDS)
        self._started.wait(timeout)
        if self.state != "RUNNING":
            raise RuntimeError(f"Cluster {self.cluster_id} is {self.state}: {self.message}")

    def install(self, libraries: list[dict[str, Any]]) -> None:
        """Install a task's libraries on the cluster (once per set); raise with pip's message."""
        pins, wheels = [], []
        for library in libraries:
            if "pypi" in library:
                package = library["pypi"]["package"]
                name = environment.normalize(re.split(r"[=<>!~\[ ]", package, maxsplit=1)[0])
                if name in RUNTIME_PACKAGES:
                    raise environment.LibraryInstallError(
                        f"{package}: the runtime provides {name}; installing it from PyPI would replace it"
                    )
                pins.append(package)
            elif "whl" in library:
                wheels.append(self.workspace.readable(library["whl"]))
            else:
                raise environment.LibraryInstallError(
                    f"library type not supported by the emulator: {library}"
                )
        with self._lock:
            wanted = (sorted(pins), sorted(wheels))
            if self.installed == wanted:
                return
            if self.installed is not None:  # a second set: build the union afresh
                pins = sorted(set(pins) | set(self.installed[0]))
                wheels = sorted(set(wheels) | set(self.installed[1]))
            layer = environment.libraries(pins)
            assert self.python is not None
            env = self.python.parent.parent
            pth = environment.site_packages(env) / "_databricks_runtime.pth"
            pth.write_text(
                f"{environment.site_packages(layer)}\n{environment.site_packages(environment.runtime())}\n"
            )
            if wheels:
                environment.pip_install(env, *wheels)  # its dependencies are satisfied by the pins
            self.installed = (sorted(pins), sorted(wheels))

    def run_task(self, run: Run) -> subprocess.Popen[bytes]:
        """Start one task's process on this cluster (attached to the driver's JVM)."""
        assert self.python is not None
        task = run.task["spark_python_task"]
        python_file = self.workspace.readable(task["python_file"])
        scopes = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=self.folder)
        with scopes:
            json.dump(self.workspace.secrets, scopes)  # what the runtime's dbutils.secrets reads
        env = {
            **self._base_environment(),
            "EMULATOR_SECRETS_FILE": scopes.name,
            "PYSPARK_GATEWAY_PORT": str(self._gateway["port"]),
            "PYSPARK_GATEWAY_SECRET": self._gateway["secret"],
        }
        with open(run.output, "ab") as out:
            return subprocess.Popen(
                [
                    str(self.python),
                    str(self.folder / "runtime.py"),
                    "task",
                    python_file,
                    *task.get("parameters", []),
                ],
                env=env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def terminate(self, message: str = "Terminated") -> None:
        """Stop the driver (and every process it started); state TERMINATED."""
        if self._driver is not None and self._driver.poll() is None:
            try:
                os.killpg(self._driver.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._driver.wait()
        if self.state != "TERMINATED":
            self.state, self.message = "TERMINATED", message
            self.workspace.terminated.append(self.cluster_id)
        self._built.set()
        self._started.set()
        shutil.rmtree(self.folder / "python", ignore_errors=True)

    def as_json(self) -> dict[str, Any]:
        """The cluster as ``GET /api/2.1/clusters/get`` returns it."""
        return {
            **self.spec,
            "cluster_id": self.cluster_id,
            "state": self.state,
            "state_message": self.message,
        }

    # -- internals ---------------------------------------------------------------------------------

    def _start(self) -> None:
        try:
            self.python = environment.cluster_python(self.folder, [], [])
            java_options = environment.java_options(environment.runtime())
            self._built.set()
            shutil.copy(RUNTIME, self.folder / "runtime.py")
            state = self.folder / "gateway.json"
            with open(self.log, "ab") as out:
                self._driver = subprocess.Popen(
                    [str(self.python), str(self.folder / "runtime.py"), "driver", str(state)],
                    env={
                        **self._base_environment(),
                        "SPARK_SUBMIT_OPTS": java_options,
                    },
                    cwd=self.folder,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            deadline = time.monotonic() + DRIVER_START_SECONDS
            while not state.exists():
                if (
                    self._driver.poll() is not None
                    or time.monotonic() > deadline
                    or self.state == "TERMINATED"
                ):
                    raise RuntimeError("Spark driver did not start:\n" + tail(self.log))
                time.sleep(0.2)
            self._gateway = json.loads(state.read_text())
            if self.state != "TERMINATED":
                self.state, self.message = "RUNNING", ""
        except Exception as exc:  # the cluster fails to start, as on Databricks
            self.terminate(f"Cluster start failed: {exc}")
        finally:
            self._built.set()
            self._started.set()

    def _base_environment(self) -> dict[str, str]:
        """The cluster's process environment: its own Python first, nothing of the orchestrator's."""
        assert self.python is not None
        runtime = environment.runtime()
        env = {
            "PATH": f"{self.python.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYSPARK_PYTHON": str(self.python),
            "DATABRICKS_RUNTIME_VERSION": str(self.spec.get("spark_version", "17.3.x-scala2.13")).split(".x")[
                0
            ],
            "EMULATOR_HOST": self.workspace.host,
            "EMULATOR_CLUSTER_TOKEN": self.token,
            "EMULATOR_CLUSTER_ID": self.cluster_id,
            "EMULATOR_SPARK_DIR": str(self.folder / "spark"),
            "EMULATOR_IVY_DIR": str(environment.ivy_dir(runtime)),
            "EMULATOR_DELTA_JARS": environment.delta_jars(runtime),
            "EMULATOR_SPARK_CONF": json.dumps(
                {k: self._resolve(str(v)) for k, v in (self.spec.get("spark_conf") or {}).items()}
            ),
        }
        if os.environ.get("JAVA_HOME"):
            env["JAVA_HOME"] = os.environ["JAVA_HOME"]
        for key, value in (self.spec.get("spark_env_vars") or {}).items():
            env[key] = self._resolve(str(value))
        return env

    def _resolve(self, value: str) -> str:
        return SECRET_REF.sub(self._secret, value)

    def _secret(self, match: re.Match[str]) -> str:
        scope, key = match.group(1), match.group(2)
        try:
            return self.workspace.secrets[scope][key]
        except KeyError:
            raise RuntimeError(f"Secret does not exist with scope: {scope} and key: {key}") from None


class Run:
    """One submitted run: its request, life-cycle state, cluster and task process."""

    def __init__(self, run_id: int, request: dict[str, Any], workspace: Workspace) -> None:
        self.run_id, self.request, self.workspace = run_id, request, workspace
        self.task = request["tasks"][0]
        self.cluster: Cluster | None = None
        self.life_cycle, self.result, self.message = "PENDING", None, "Waiting for cluster"
        self.output = tempfile.NamedTemporaryFile(prefix=f"run-{run_id}-", suffix=".log", delete=False).name
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    @property
    def cluster_id(self) -> str | None:
        """The cluster the run executes on (``None`` until one is assigned)."""
        return self.cluster.cluster_id if self.cluster else self.task.get("existing_cluster_id")

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
        return tail(Path(self.output), lines)

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
            if "spark_python_task" not in self.task:
                raise RuntimeError("the emulator runs spark_python_task tasks only")
            self.cluster = self.workspace.cluster_for(self.task)
            self.cluster.wait_running()
            if self._cancelled:
                self._finish("CANCELED", "Run cancelled.")
                return
            self.message = "Installing libraries"
            self.cluster.install(self.task.get("libraries", []))
        except environment.LibraryInstallError as exc:
            self._finish(
                "FAILED", f"Library installation failed for library due to user error. Error messages:\n{exc}"
            )
            return
        except Exception as exc:  # a bad submission or a cluster that did not start fails the run
            self._finish("FAILED", str(exc), "INTERNAL_ERROR")
            return
        if self._cancelled:
            self._finish("CANCELED", "Run cancelled.")
            return
        self.life_cycle, self.message = "RUNNING", "In run"
        self._process = self.cluster.run_task(self)
        code = self._process.wait()
        if not self._cancelled:
            if code == 0:
                self._finish("SUCCESS", "")
            else:
                self._finish("FAILED", f"Workload failed (exit code {code}):\n{self.log_tail(8)}")

    def _finish(self, result: str, message: str, life_cycle: str = "TERMINATED") -> None:
        # As on Databricks, a run is TERMINATING while its job cluster shuts down, so whoever
        # sees the final state also sees the job cluster TERMINATED.
        if self.cluster is not None and self.cluster.job:
            self.life_cycle = "TERMINATING"
            self.cluster.terminate("Job run ended")
        self.life_cycle, self.result, self.message = life_cycle, result, message


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` of a log file ("" when it cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""
