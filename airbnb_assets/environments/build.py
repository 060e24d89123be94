"""The Dagster resources of an environment, built from its :class:`~.settings.Settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airbnb_assets.environments.settings import Env, Settings, channel_class
from airbnb_assets.environments.variables import (
    DATABRICKS_TOKEN_VAR,
    DATABRICKS_VARIABLES,
    DRIFT_VARIABLES,
    RUNTIME_VAR,
)

if TYPE_CHECKING:
    from airbnb_assets.platform.spark import SparkResource
    from airbnb_assets.resources.mlflow import MlflowResource
    from airbnb_assets.resources.monitoring import MonitoringResource
    from airbnb_assets.resources.notifier.resource import NotifierResource
    from airbnb_assets.resources.secrets import SecretsResource


def spark_resource(settings: Settings) -> SparkResource:
    """The environment's Spark: DEV's local one (folders, JVM log, ``AIRBNB_SPARK_CONF``) or the cluster's."""
    from airbnb_assets.platform.spark import SparkResource

    return SparkResource(
        master=settings.spark_master,
        local_dir=f"{settings.env_root}/_spark",
        jvm_log=f"{settings.env_root}/_spark/jvm.log" if settings.platform == "local" else None,
        extra_conf=dict(settings.local_spark_conf),
    )


def build_resources(settings: Settings) -> dict[str, Any]:
    """The Dagster resources of an environment: lakehouse (with its Spark), MLflow, notifier, monitoring."""
    from airbnb_assets.platform.lakehouse import LakehouseResource

    spark = spark_resource(settings)
    return {
        "lakehouse": LakehouseResource(
            root=settings.env_root,
            landing_path=settings.landing_path,
            catalog=settings.catalog,
            spark=spark,
            platform="databricks" if settings.autoloader else "local",
            # the local catalog profile (the emulator's TEST) keeps tables readable by path
            external_tables=settings.catalog == "spark_catalog",
            lock_runs=settings.platform == "local",  # Databricks runs are serialised by the run queue
            # delta-rs reads logs without Spark on a laptop; a cluster has only Spark's Delta
            delta_rs=settings.platform == "local",
        ),
        "pyspark_step_launcher": step_launcher_resource(settings),
        **pipes_resources(settings),
        "mlflow": mlflow_resource(settings),
        "notifier": notifier_resource(settings),
        "monitoring": monitoring_resource(settings),
    }


def step_launcher_resource(settings: Settings, environ: Mapping[str, str] | None = None) -> Any:
    """Runs each Spark step on a Databricks job cluster (TEST/PROD, ``step_launcher``); else ``None``.

    In DEV and in ``pipes`` mode the resource is ``None`` and steps run in the run's process
    (Pipes assets submit their own Databricks job).
    """
    import dagster as dg

    from airbnb_assets.platform.databricks import step_launcher

    if settings.compute != "step_launcher" or settings.cluster is None:
        return dg.ResourceDefinition.none_resource()
    environ = os.environ if environ is None else environ
    return step_launcher(
        settings.cluster,
        settings.env.value,
        settings.forwarded or {},
        token_from_env=bool(environ.get(DATABRICKS_TOKEN_VAR)),
    )


def pipes_resources(settings: Settings) -> dict[str, Any]:
    """``pipes_databricks`` in ``pipes`` compute: the client that submits each Spark asset's run."""
    from airbnb_assets.pipes import pipes_resource

    if settings.compute != "pipes" or settings.cluster is None:
        return {}
    if not settings.databricks_host:
        variable = DATABRICKS_VARIABLES[settings.env.value]["compute"]
        raise ValueError(f"{variable}=pipes needs DATABRICKS_HOST (the workspace URL)")
    return {
        "pipes_databricks": pipes_resource(
            settings.cluster,
            settings.env.value,
            settings.databricks_host,
            settings.forwarded or {},
            settings.pipes_volume or "",  # always set for TEST and PROD (settings_for)
        )
    }


def notifier_resource(settings: Settings, environ: Mapping[str, str] | None = None) -> NotifierResource:
    """The JSONL audit log under the lakehouse around the channel named by ``AIRBNB_ALERT_BACKEND``.

    The channel's fields come from its declared variables as ``dg.EnvVar`` (masked by Dagster,
    never in the repo), only those that are set. With a Key Vault :func:`secrets_resource`, the
    secret fields stay unset and are read from the vault when needed.

    Raises:
        ValueError: ``AIRBNB_ALERT_BACKEND`` names no channel.
    """
    import dagster as dg

    from airbnb_assets.resources.notifier.resource import NotifierResource

    environ = os.environ if environ is None else environ
    channel = channel_class(environ)
    secrets = secrets_resource(settings, environ)
    fields: dict[str, Any] = {}
    for field, variable in channel.VARIABLES.items():
        if field in channel.SECRETS and secrets.backend != "env":
            continue  # read from the vault by the secrets resource
        if environ.get(variable):
            is_int = channel.model_fields[field].annotation in (int, "int")
            fields[field] = dg.EnvVar.int(variable) if is_int else dg.EnvVar(variable)
    return NotifierResource(
        log_path=f"{settings.env_root}/_artifacts/alerts/alerts.jsonl",
        channel=channel(secrets=secrets, **fields),
    )


def secrets_resource(settings: Settings, environ: Mapping[str, str] | None = None) -> SecretsResource:
    """Where secrets come from: Azure Key Vault in TEST/PROD when ``AIRBNB_<ENV>_KEYVAULT_URL`` is set.

    Otherwise (DEV, CI, a TEST/PROD without a vault URL) and on a Databricks cluster
    (``DATABRICKS_RUNTIME_VERSION`` is set there), environment variables: the launcher hands a step
    on the cluster its Key Vault-backed secret scope as environment variables of the same names.
    """
    from airbnb_assets.resources.secrets import SecretsResource

    environ = os.environ if environ is None else environ
    if settings.env is Env.DEV:
        return SecretsResource(backend="env")
    vault_url = environ.get(DATABRICKS_VARIABLES[settings.env.value]["keyvault_url"])
    if not vault_url or environ.get(RUNTIME_VAR):
        return SecretsResource(backend="env")
    return SecretsResource(backend="keyvault", vault_url=vault_url)


def monitoring_resource(settings: Settings, environ: Mapping[str, str] | None = None) -> MonitoringResource:
    """Drift sampling and check severities (``AIRBNB_DRIFT_SEVERITY``: ``WARN`` or ``ERROR``)."""
    from airbnb_assets.resources.monitoring import MonitoringResource

    environ = os.environ if environ is None else environ
    severity = environ.get(DRIFT_VARIABLES["severity"], "WARN" if settings.env is Env.DEV else "ERROR")
    return MonitoringResource(
        env=settings.env.value,
        max_rows=int(environ.get(DRIFT_VARIABLES["max_rows"], "20000")),
        data_drift_severity=severity,
        model_drift_severity=severity,
    )


def mlflow_resource(settings: Settings) -> MlflowResource:
    """MLflow store of an environment: local SQLite + folder in DEV, Databricks + UC otherwise."""
    from airbnb_assets.platform.bootstrap import MODEL_SCHEMA
    from airbnb_assets.resources.mlflow import MlflowResource

    if settings.platform == "local":
        store = f"{settings.env_root}/_mlflow"
        return MlflowResource(
            tracking_uri=f"sqlite:///{store}/mlflow.db", artifact_location=f"{store}/artifacts"
        )
    if settings.mlflow_tracking_uri:  # a tracking server of its own (the emulator's tests use SQLite)
        return MlflowResource(
            tracking_uri=settings.mlflow_tracking_uri,
            experiment_name=f"airbnb_price_{settings.env.value}",
            artifact_location=f"{settings.env_root}/_mlflow/artifacts",
            model_name=f"{settings.catalog}.{MODEL_SCHEMA}.airbnb_price",
        )
    return MlflowResource(
        tracking_uri="databricks",
        registry_uri="databricks-uc",
        experiment_name=f"/Shared/airbnb_price_{settings.env.value}",
        model_name=f"{settings.catalog}.{MODEL_SCHEMA}.airbnb_price",
    )
