"""Where Spark steps run on Databricks: the job cluster and the PySpark step launcher built from it.

:class:`ClusterSpec` holds what :mod:`airbnb_assets.environments` declares for TEST and PROD
(runtime, node type, size, Spark conf, libraries, staging prefix, secret scope, permissions).
:func:`step_launcher` turns it into ``dagster-databricks``' ``databricks_pyspark_step_launcher``:
each Spark step of a run is zipped with the package, uploaded to DBFS and submitted with the Jobs
API (``runs/submit``) to a **new job cluster per step**, unless ``existing_cluster_id`` or an
``instance_pool_id`` is set (one warm all-purpose cluster, or a pool of idle VMs, shared by the
run's steps). The step's resources are rebuilt on the cluster from the same environment
variables, which the launcher forwards (:func:`forwarded_variables`); secrets travel only as
secret-scope references (``secrets_to_env_variables``), resolved on the cluster by
``dbutils.secrets.get``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import dagster as dg

#: Packages the Databricks runtime provides (or the cluster never needs): not installed as libraries.
NOT_ON_CLUSTER = frozenset({"pyspark", "delta-spark", "py4j", "dagster-webserver"})


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
    #: Groups allowed to see the job runs and the cluster (``CAN_VIEW``).
    viewers: tuple[str, ...] = ()
    poll_interval_sec: float = 10.0
    #: Extra PyPI libraries (``name==version``) or a ``whl`` path of the project on a volume.
    wheel: str | None = None


def libraries(wheel: str | None = None) -> list[dict[str, Any]]:
    """Cluster libraries: the project's dependencies, each pinned to the version installed here.

    The code location is installed from ``uv.lock``, so the pins are the locked versions. The
    project's own code reaches the cluster in the launcher's zip, or as ``wheel`` (a volume path).
    """
    names = [re.split(r"[ ;<>=!~\[]", req, maxsplit=1)[0] for req in metadata.requires("airbnb_assets") or []]
    pins = [
        {"pypi": {"package": f"{name}=={metadata.version(name)}"}}
        for name in sorted(set(names))
        if name not in NOT_ON_CLUSTER and "extra ==" not in name
    ]
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
    if spec.run_as:
        new.update(data_security_mode="SINGLE_USER", single_user_name=spec.run_as)
    return {"new": new}


def cluster_task(spec: ClusterSpec, env_name: str, variables: Mapping[str, str]) -> dict[str, Any]:
    """A Jobs API task's cluster and libraries (the Pipes variant submits this itself).

    The configuration variables and the secret-scope references (``{{secrets/scope/key}}``,
    resolved by Databricks when the cluster starts) become the cluster's environment.
    """
    launcher = cluster_config(spec, env_name)["new"]
    new = {k: v for k, v in launcher.items() if k not in ("size", "nodes", "custom_tags")}
    new["num_workers"] = spec.num_workers
    new.update(launcher["nodes"].get("node_types", {}) or {"instance_pool_id": spec.instance_pool_id})
    new["custom_tags"] = {t["key"]: t["value"] for t in launcher["custom_tags"]}
    refs = {var: f"{{{{secrets/{spec.secret_scope}/{key}}}}}" for var, key in spec.secrets.items()}
    new["spark_env_vars"] = {**variables, **refs}
    return {"new_cluster": new, "libraries": libraries(wheel=spec.wheel)}


def code_package_dir() -> str:
    """A folder holding only this package (without its sample data): what the launcher zips.

    The launcher zips everything under the folder it is given; the package's parent is a source
    checkout or ``site-packages``, far too much to upload for every step. The copy is made once
    per process, in a new temporary folder (never one left by an earlier process).
    """
    if "dir" not in _CODE_COPY:
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        target = tempfile.mkdtemp(prefix="airbnb_assets_code_")
        shutil.copytree(
            package,
            os.path.join(target, "airbnb_assets"),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "data"),
        )
        _CODE_COPY["dir"] = target
    return _CODE_COPY["dir"]


_CODE_COPY: dict[str, str] = {}


def step_launcher(
    spec: ClusterSpec, env_name: str, variables: Mapping[str, str], *, token_from_env: bool
) -> dg.ResourceDefinition:
    """The PySpark step launcher that runs each Spark step of a run on Databricks."""
    from dagster_databricks import databricks_pyspark_step_launcher

    config: dict[str, Any] = {
        "run_config": {
            "run_name": f"airbnb_assets {env_name}",
            "cluster": cluster_config(spec, env_name),
            "libraries": libraries(wheel=spec.wheel),
            "install_default_libraries": False,  # already pinned in ``libraries``
            "timeout_seconds": 3600,
        },
        "databricks_host": {"env": "DATABRICKS_HOST"},
        "env_variables": dict(variables),
        "secrets_to_env_variables": [
            {"name": var, "key": key, "scope": spec.secret_scope} for var, key in spec.secrets.items()
        ]
        if spec.secret_scope
        else [],
        "local_dagster_job_package_path": code_package_dir(),
        "staging_prefix": spec.staging_prefix,
        "poll_interval_sec": spec.poll_interval_sec,
        "verbose_logs": False,
    }
    if token_from_env:  # else the SDK's default chain: OAuth M2M, Azure identity, ~/.databrickscfg
        config["databricks_token"] = {"env": "DATABRICKS_TOKEN"}
    if spec.viewers and not spec.existing_cluster_id:
        viewers = [{"group_name": group} for group in spec.viewers]
        config["permissions"] = {
            "job_permissions": {"CAN_VIEW": viewers},
            "cluster_permissions": {"CAN_ATTACH_TO": viewers},
        }
    return databricks_pyspark_step_launcher.configured(config)


#: The parameter type of a Spark asset's ``pyspark_step_launcher`` resource: on Databricks
#: (``step_launcher`` compute) Dagster runs the asset's step on a cluster; elsewhere it is ``None``.
SparkStep = dg.ResourceParam[Any]
