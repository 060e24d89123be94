"""Where Spark steps run on Databricks: one cluster per Dagster run, and the step launcher that uses it.

:class:`ClusterSpec` holds what :mod:`airbnb_assets.environments` declares for TEST and PROD
(runtime, node type, size, Spark conf, libraries, staging prefix, secret scope, permissions).
:func:`step_launcher` turns it into ``dagster-databricks``' PySpark step launcher bound to a
**run-scoped cluster** (:class:`~airbnb_assets.platform.run_cluster.RunCluster`): the first Spark
step of a run creates one cluster, every step of the run is submitted to it (``runs/submit``
with ``existing_cluster_id``), and it is terminated when the run ends -- success, failure or
cancellation -- so a daily run pays one cluster start, not one per step. ``existing_cluster_id``
uses a cluster you manage instead. The step's resources are rebuilt on the cluster from the
same environment variables (:func:`forwarded_variables`); secrets travel only as secret-scope
references (``secrets_to_env_variables``), resolved on the cluster by ``dbutils.secrets.get``.

The cluster gets the project as a wheel (``AIRBNB_<ENV>_WHEEL``, on a volume) and the pins of
:data:`CLUSTER_REQUIREMENTS`: the wheel's dependencies resolved for the runtime's Python
(Databricks Runtime 17.3 LTS, Python 3.12) against the libraries it preinstalls.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from airbnb_assets.platform.session import LOCAL_CONF

if TYPE_CHECKING:
    from airbnb_assets.platform.run_cluster import RunCluster

#: Packages the Databricks runtime provides: never installed as libraries (that would replace them).
RUNTIME_PROVIDED = frozenset({"pyspark", "delta-spark", "py4j"})
#: The cluster's pins (``make cluster-requirements`` regenerates them; see the file's header).
CLUSTER_REQUIREMENTS = Path(__file__).with_name("cluster-requirements.txt")
#: Spark settings a job cluster gets as a local session does: AQE coalescing of cached shuffles
#: (one file for a small day) and Delta auto compaction off (see ``platform.session.LOCAL_CONF``).
FILE_SIZE_CONF = (
    "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning",
    "spark.databricks.delta.autoCompact.enabled",
)


@dataclass(frozen=True)
class ClusterSpec:
    """The Databricks compute of an environment, as declared values (no secrets)."""

    spark_version: str
    node_type: str
    num_workers: int = 0
    existing_cluster_id: str | None = None
    instance_pool_id: str | None = None
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    staging_prefix: str = "/dagster_staging"
    #: Secret scope (Key Vault-backed) whose keys become the step's env vars: ``{VAR: key}``.
    secret_scope: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    #: Service principal (application id) the cluster runs as: Unity Catalog ``SINGLE_USER``.
    run_as: str | None = None
    #: Groups allowed to see the step runs (``CAN_VIEW``).
    viewers: tuple[str, ...] = ()
    poll_interval_sec: float = 10.0
    #: The project's wheel on a volume (``/Volumes/...``): how its code reaches the cluster.
    wheel: str | None = None
    #: The cluster's pins (default :data:`CLUSTER_REQUIREMENTS`).
    requirements: Path = CLUSTER_REQUIREMENTS


def cluster_pins(path: Path = CLUSTER_REQUIREMENTS) -> list[str]:
    """The ``name==version`` pins a cluster installs, less what the runtime provides."""
    pins = []
    for line in path.read_text().splitlines():
        pin = line.split("#", 1)[0].strip()
        if pin and pin.split("==", 1)[0].lower() not in RUNTIME_PROVIDED:
            pins.append(pin)
    return pins


def libraries(wheel: str | None = None, requirements: Path = CLUSTER_REQUIREMENTS) -> list[dict[str, Any]]:
    """Cluster libraries: the pins of ``requirements``, then the project's wheel (a volume path)."""
    pins = [{"pypi": {"package": pin}} for pin in cluster_pins(requirements)]
    return pins + ([{"whl": wheel}] if wheel else [])


def cluster_config(spec: ClusterSpec, env_name: str) -> dict[str, Any]:
    """The launcher's ``run_config.cluster``: an existing cluster, or a new job cluster."""
    if spec.existing_cluster_id:
        return {"existing": spec.existing_cluster_id}
    nodes: dict[str, Any] = (
        {"instance_pool_id": spec.instance_pool_id}
        if spec.instance_pool_id
        else {"node_types": {"node_type_id": spec.node_type}}
    )
    conf = dict(spec.spark_conf)
    for key in FILE_SIZE_CONF:  # the same file sizes and compaction as a local run
        conf.setdefault(key, LOCAL_CONF[key])
    tags = {"project": "airbnb_assets", "environment": env_name}
    if spec.num_workers == 0:  # single node: the driver does the work (a day is small)
        conf.setdefault("spark.databricks.cluster.profile", "singleNode")
        conf.setdefault("spark.master", "local[*, 4]")
        tags["ResourceClass"] = "SingleNode"
    new: dict[str, Any] = {
        "size": {"num_workers": spec.num_workers},
        "spark_version": spec.spark_version,
        "nodes": nodes,
        "spark_conf": conf,
        "custom_tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    # Unity Catalog needs an access mode: dedicated to the principal that submits the runs
    # (checked against ``run_as`` before a run starts, see RunCluster).
    new["data_security_mode"] = "SINGLE_USER"
    if spec.run_as:
        new["single_user_name"] = spec.run_as
    return {"new": new}


def cluster_task(spec: ClusterSpec, env_name: str, variables: Mapping[str, str]) -> dict[str, Any]:
    """A Jobs API task's cluster and libraries (the Pipes variant submits this itself).

    A new cluster's environment is the configuration variables and the secret-scope references
    (``{{secrets/scope/key}}``, resolved by Databricks when the cluster starts). A declared
    cluster (``existing_cluster_id``) keeps its own environment: the task names it and no more.
    """
    pinned = libraries(spec.wheel, spec.requirements)
    if spec.existing_cluster_id:
        return {"existing_cluster_id": spec.existing_cluster_id, "libraries": pinned}
    launcher = cluster_config(spec, env_name)["new"]
    new = {k: v for k, v in launcher.items() if k not in ("size", "nodes", "custom_tags")}
    new["num_workers"] = spec.num_workers
    new.update(launcher["nodes"].get("node_types", {}) or {"instance_pool_id": spec.instance_pool_id})
    new["custom_tags"] = {t["key"]: t["value"] for t in launcher["custom_tags"]}
    refs = {var: f"{{{{secrets/{spec.secret_scope}/{key}}}}}" for var, key in spec.secrets.items()}
    new["spark_env_vars"] = {**variables, **refs}
    return {"new_cluster": new, "libraries": pinned}


def code_package_dir() -> str:
    """A folder holding only this package (without its sample data): what the launcher zips.

    The launcher zips everything under the folder it is given; the package's parent is a source
    checkout or ``site-packages``, far too much to upload for every step. The copy is made once
    per process, in a new temporary folder (never one left by an earlier process), which is
    removed when the process exits.
    """
    if "dir" not in _CODE_COPY:
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        target = tempfile.mkdtemp(prefix="airbnb_assets_code_")
        atexit.register(shutil.rmtree, target, ignore_errors=True)
        shutil.copytree(
            package,
            os.path.join(target, "airbnb_assets"),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "data"),
        )
        _CODE_COPY["dir"] = target
    return _CODE_COPY["dir"]


_CODE_COPY: dict[str, str] = {}


def run_cluster(
    spec: ClusterSpec, env_name: str, variables: Mapping[str, str], host: str | None, token: str | None
) -> RunCluster | None:
    """The run-scoped cluster of an environment, or ``None`` when a managed cluster is declared."""
    from airbnb_assets.platform.run_cluster import RunCluster

    if spec.existing_cluster_id:
        return None
    body = cluster_task(spec, env_name, variables)["new_cluster"]
    return RunCluster(body, name=f"airbnb_assets {env_name}", host=host, token=token)


def step_launcher(
    spec: ClusterSpec, env_name: str, variables: Mapping[str, str], *, token_from_env: bool
) -> dg.ResourceDefinition:
    """The PySpark step launcher that runs each Spark step of a run on the run's one cluster."""

    @dg.resource(description="Runs each Spark step on the Dagster run's Databricks cluster (step launcher).")
    def pyspark_step_launcher(context: dg.InitResourceContext) -> Iterator[Any]:
        from dagster_databricks.databricks_pyspark_step_launcher import DatabricksPySparkStepLauncher

        class RunClusterStepLauncher(DatabricksPySparkStepLauncher):
            """Submits every step to the run's cluster (``cluster``), created by the first step."""

            def launch_step(self, step_context: Any) -> Iterator[Any]:
                if cluster is not None:
                    cluster_id = cluster.ensure(step_context.log, step_context.dagster_run.run_id)
                    self.run_config = {**self.run_config, "cluster": {"existing": cluster_id}}
                yield from super().launch_step(step_context)

        host = os.environ.get("DATABRICKS_HOST")
        token = os.environ.get("DATABRICKS_TOKEN") if token_from_env else None
        cluster = run_cluster(spec, env_name, variables, host, token)
        launcher = RunClusterStepLauncher(
            run_config={
                "run_name": f"airbnb_assets {env_name}",
                "cluster": {"existing": spec.existing_cluster_id or "<created by the run's first step>"},
                "libraries": libraries(spec.wheel, spec.requirements),
                "install_default_libraries": False,  # pinned in ``libraries``
                "timeout_seconds": 3600,
            },
            permissions={"job_permissions": {"CAN_VIEW": [{"group_name": g} for g in spec.viewers]}}
            if spec.viewers
            else {},
            databricks_host=host,
            databricks_token=token or None,
            secrets_to_env_variables=[
                {"name": var, "key": key, "scope": spec.secret_scope} for var, key in spec.secrets.items()
            ]
            if spec.secret_scope
            else [],
            env_variables=dict(variables),
            staging_prefix=spec.staging_prefix,
            wait_for_logs=False,
            max_completion_wait_time_seconds=24 * 3600,
            poll_interval_sec=spec.poll_interval_sec,  # type: ignore[arg-type]
            local_dagster_job_package_path=code_package_dir(),
            verbose_logs=False,
        )
        try:
            yield launcher
        finally:
            if cluster is not None:
                cluster.terminate(context.log)

    return pyspark_step_launcher


#: The parameter type of a Spark asset's ``pyspark_step_launcher`` resource: on Databricks
#: (``step_launcher`` compute) Dagster runs the asset's step on a cluster; elsewhere it is ``None``.
SparkStep = dg.ResourceParam[Any]
