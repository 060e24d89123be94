"""The one module that knows about environments (DEV / TEST / PROD, local vs Databricks).

Everything else receives resources built here. One variable picks the environment:
``AIRBNB_ENV`` (``dev`` | ``test`` | ``prod``), or Dagster+'s ``DAGSTER_CLOUD_DEPLOYMENT_NAME``
when ``AIRBNB_ENV`` is unset. DEV is the default and runs on a laptop: local Spark + Delta under
``AIRBNB_LAKEHOUSE_ROOT`` (default ``.lakehouse/`` in the repository). TEST and PROD are declared
Databricks configurations whose values come from environment variables.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airbnb_assets.platform.databricks import ClusterSpec

if TYPE_CHECKING:
    from airbnb_assets.resources.mlflow import MlflowResource
    from airbnb_assets.resources.monitoring import MonitoringResource
    from airbnb_assets.resources.notifier.resource import NotifierResource
    from airbnb_assets.resources.secrets import SecretsResource

ENV_VAR = "AIRBNB_ENV"
ROOT_VAR = "AIRBNB_LAKEHOUSE_ROOT"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Databricks Runtime of the job clusters (LTS, Spark 4.0, Scala 2.13).
DATABRICKS_RUNTIME = "17.3.x-scala2.13"
#: Where Spark steps run: in this process (DEV), or on Databricks by step launcher or by Pipes.
COMPUTE_MODES = ("local", "step_launcher", "pipes")
#: The six real snapshots shipped with the package (Data: Inside Airbnb, insideairbnb.com).
SNAPSHOTS_DIR = PACKAGE_DIR / "data" / "airbnb_sf"


class Env(enum.StrEnum):
    """A deployment environment."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"


@dataclass(frozen=True)
class Settings:
    """Everything that differs between environments, as plain values.

    ``platform`` is ``local`` (delta-spark on this machine) or ``databricks``. ``lakehouse_root``
    is the base under which ``<env>/<schema>/<table>`` live; with a ``catalog`` the tables are
    Unity Catalog tables ``catalog.schema.table`` instead of paths.
    """

    env: Env
    platform: str
    lakehouse_root: str
    landing_path: str
    catalog: str | None = None
    spark_master: str | None = "local[2]"
    databricks_host: str | None = None
    #: ``local``, ``step_launcher`` or ``pipes`` (:data:`COMPUTE_MODES`).
    compute: str = "local"
    cluster: ClusterSpec | None = None
    #: An MLflow tracking server other than the workspace's (``databricks``), if set.
    mlflow_tracking_uri: str | None = None
    #: Bronze reads the landing zone with Databricks Auto Loader (``cloudFiles``); else the local
    #: emulation (DEV, and a cluster without Auto Loader such as the tests' emulator).
    autoloader: bool = False
    #: The variables the step's resources are rebuilt from on a cluster (no secrets).
    forwarded: dict[str, str] | None = None
    #: Pipes' staging folder on a Unity Catalog volume (entrypoint, context, messages).
    pipes_volume: str | None = None

    @property
    def env_root(self) -> str:
        """Root of this environment's tables, checkpoints and artefacts."""
        return f"{self.lakehouse_root.rstrip('/')}/{self.env.value}"


def default_lakehouse_root() -> str:
    """``.lakehouse/`` next to ``pyproject.toml`` in a source checkout, else in the working dir."""
    repo = PACKAGE_DIR.parent
    base = repo if (repo / "pyproject.toml").exists() else Path.cwd()
    return str(base / ".lakehouse")


def current_env(environ: Mapping[str, str] | None = None) -> Env:
    """The environment selected by ``AIRBNB_ENV`` (or the Dagster+ deployment name)."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR) or _from_deployment(
        environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME"), environ.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1"
    )
    try:
        return Env((raw or Env.DEV.value).lower())
    except ValueError:
        allowed = ", ".join(e.value for e in Env)
        raise ValueError(f"{ENV_VAR}={raw!r} is not one of: {allowed}") from None


def _from_deployment(name: str | None, branch: bool) -> str | None:
    """Dagster+: ``prod``/``production`` is PROD; any other deployment, and every branch one, TEST."""
    if not name:
        return None
    if branch:  # a branch deployment is named after its branch, which may well be called "prod"
        return "test"
    return {"prod": "prod", "production": "prod"}.get(name.lower(), "test")


def settings_for(env: Env, environ: Mapping[str, str] | None = None) -> Settings:
    """Build the declared configuration of ``env`` from environment variables."""
    environ = os.environ if environ is None else environ
    if env is Env.DEV:
        root = environ.get(ROOT_VAR) or default_lakehouse_root()
        return Settings(
            env=env,
            platform="local",
            lakehouse_root=root,
            landing_path=environ.get("AIRBNB_LANDING_PATH")
            or f"{root.rstrip('/')}/{env.value}/landing/listings",
        )
    # TEST and PROD: Databricks + Unity Catalog; landing in a UC volume backed by ADLS Gen2.
    upper = env.value.upper()

    def var(name: str, default: str | None = None) -> str | None:
        return environ.get(f"AIRBNB_{upper}_{name}") or default

    catalog = var("CATALOG", f"airbnb_{env.value}")
    compute = var("COMPUTE", "step_launcher")
    if compute not in COMPUTE_MODES[1:]:
        raise ValueError(f"AIRBNB_{upper}_COMPUTE={compute!r} is not one of: step_launcher, pipes")
    return Settings(
        env=env,
        platform="databricks",
        lakehouse_root=var("LAKEHOUSE_ROOT", f"/Volumes/{catalog}/ops/lakehouse") or "",
        landing_path=var("LANDING_PATH", f"/Volumes/{catalog}/landing/listings") or "",
        catalog=catalog,
        spark_master=None,
        databricks_host=environ.get("DATABRICKS_HOST"),
        compute=compute or "step_launcher",
        autoloader=var("AUTOLOADER", "1") != "0",
        cluster=cluster_spec(env, environ, catalog or ""),
        mlflow_tracking_uri=var("MLFLOW_TRACKING_URI"),
        forwarded=_forwarded(env, environ),
        pipes_volume=var("PIPES_VOLUME", f"/Volumes/{catalog}/ops/lakehouse/_pipes"),
    )


def cluster_spec(env: Env, environ: Mapping[str, str], catalog: str) -> ClusterSpec:
    """The declared job cluster of TEST or PROD; every value can be overridden by a variable."""
    upper = env.value.upper()

    def var(name: str, default: str | None = None) -> str | None:
        return environ.get(f"AIRBNB_{upper}_{name}") or default

    scope = var("SECRET_SCOPE", f"airbnb-{env.value}")
    return ClusterSpec(
        spark_version=var("SPARK_VERSION", DATABRICKS_RUNTIME) or DATABRICKS_RUNTIME,
        node_type=var("NODE_TYPE", "Standard_D4ds_v5") or "Standard_D4ds_v5",
        num_workers=int(var("NUM_WORKERS", "0") or 0),
        existing_cluster_id=var("CLUSTER_ID"),
        instance_pool_id=var("INSTANCE_POOL_ID"),
        spark_conf=json.loads(var("SPARK_CONF", "{}") or "{}"),
        staging_prefix=var("STAGING_PREFIX", f"/dagster_staging/airbnb_{env.value}") or "",
        secret_scope=scope,
        secrets=_cluster_secrets(environ),
        run_as=var("RUN_AS"),
        viewers=tuple(g for g in (var("VIEWERS", "") or "").split(",") if g),
        poll_interval_sec=float(var("POLL_INTERVAL", "10") or 10),
        wheel=var("WHEEL") or release_wheel(catalog),
        **({"requirements": Path(req)} if (req := var("CLUSTER_REQUIREMENTS")) else {}),
    )


def release_wheel(catalog: str) -> str:
    """Where this release's wheel lives on the catalog's lakehouse volume (``airbnb publish-wheel``)."""
    from airbnb_assets import __version__

    return f"/Volumes/{catalog}/ops/lakehouse/_releases/airbnb_assets-{__version__}-py3-none-any.whl"


#: The secret field each alert backend needs.
BACKEND_SECRET = {
    "webhook": "webhook_url",
    "slack": "slack_token",
    "msteams": "teams_webhook_url",
    "email": "smtp_password",
}


def _cluster_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """The alert backend's secret, exported on the cluster from the scope (key = Key Vault name)."""
    from airbnb_assets.resources.notifier.resource import ENV_VARS
    from airbnb_assets.resources.secrets import keyvault_name

    field = BACKEND_SECRET.get(environ.get(ENV_VARS["backend"]) or "log")
    if field is None:
        return {}
    return {ENV_VARS[field]: keyvault_name(ENV_VARS[field])}


def _forwarded(env: Env, environ: Mapping[str, str]) -> dict[str, str]:
    """Configuration variables the launcher forwards to the cluster (never a credential)."""
    prefix = f"AIRBNB_{env.value.upper()}_"
    names = [ENV_VAR, "DATABRICKS_HOST", "AIRBNB_DRIFT_SEVERITY", "AIRBNB_DRIFT_MAX_ROWS"]
    names += [n for n in environ if n.startswith(prefix)]
    # KEY also drops the Key Vault URL: on the cluster secrets come from the scope, as env vars.
    secret = ("TOKEN", "SECRET", "PASSWORD", "WEBHOOK", "KEY")
    return {n: environ[n] for n in names if environ.get(n) and not any(w in n for w in secret)}


def current_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings of the environment selected in ``environ`` (default: the process environment)."""
    return settings_for(current_env(environ), environ)


def build_resources(settings: Settings) -> dict[str, Any]:
    """The Dagster resources of an environment: lakehouse (with its Spark), MLflow, notifier, monitoring."""
    from airbnb_assets.platform.lakehouse import LakehouseResource
    from airbnb_assets.platform.spark import SparkResource

    spark = SparkResource(
        master=settings.spark_master,
        local_dir=f"{settings.env_root}/_spark",
        jvm_log=f"{settings.env_root}/_spark/jvm.log" if settings.platform == "local" else None,
    )
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
        token_from_env=bool(environ.get("DATABRICKS_TOKEN")),
    )


def pipes_resources(settings: Settings) -> dict[str, Any]:
    """``pipes_databricks`` in ``pipes`` compute: the client that submits each Spark asset's run."""
    from airbnb_assets.pipes import pipes_resource

    if settings.compute != "pipes" or settings.cluster is None:
        return {}
    if not settings.databricks_host:
        raise ValueError("AIRBNB_<ENV>_COMPUTE=pipes needs DATABRICKS_HOST (the workspace URL)")
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
    """Alert notifier: JSONL log under the lakehouse (default) or the backend in ``AIRBNB_ALERT_BACKEND``.

    Settings come from the environment as ``dg.EnvVar`` (masked by Dagster, never in the repo);
    only variables that are set become settings (see
    :data:`airbnb_assets.resources.notifier.resource.ENV_VARS`). With a Key Vault
    :func:`secrets_resource`, the credentials come from the vault instead.
    """
    import dagster as dg

    from airbnb_assets.resources.notifier.resource import ENV_VARS, SECRET_FIELDS, NotifierResource

    environ = os.environ if environ is None else environ
    secrets = secrets_resource(settings, environ)
    config: dict[str, Any] = {
        "backend": environ.get(ENV_VARS["backend"]) or "log",
        "log_path": f"{settings.env_root}/_artifacts/alerts/alerts.jsonl",
        "secrets": secrets,
    }
    for field, var in ENV_VARS.items():
        if field in SECRET_FIELDS and secrets.backend != "env":
            continue  # read from the vault by the secrets resource
        if field != "backend" and environ.get(var):
            config[field] = dg.EnvVar.int(var) if field == "smtp_port" else dg.EnvVar(var)
    return NotifierResource(**config)


def secrets_resource(settings: Settings, environ: Mapping[str, str] | None = None) -> SecretsResource:
    """Where secrets come from: Azure Key Vault in TEST/PROD when ``AIRBNB_<ENV>_KEYVAULT_URL`` is set.

    Otherwise (DEV, CI, a TEST/PROD without a vault URL) and on a Databricks cluster
    (``DATABRICKS_RUNTIME_VERSION`` is set there), environment variables: the launcher hands a step
    on the cluster its Key Vault-backed secret scope as environment variables of the same names.
    """
    from airbnb_assets.resources.secrets import SecretsResource

    environ = os.environ if environ is None else environ
    vault_url = environ.get(f"AIRBNB_{settings.env.value.upper()}_KEYVAULT_URL")
    if settings.env is Env.DEV or not vault_url or environ.get("DATABRICKS_RUNTIME_VERSION"):
        return SecretsResource(backend="env")
    return SecretsResource(backend="keyvault", vault_url=vault_url)


def monitoring_resource(settings: Settings, environ: Mapping[str, str] | None = None) -> MonitoringResource:
    """Drift sampling and check severities (``AIRBNB_DRIFT_SEVERITY``: ``WARN`` or ``ERROR``)."""
    from airbnb_assets.resources.monitoring import MonitoringResource

    environ = os.environ if environ is None else environ
    severity = environ.get("AIRBNB_DRIFT_SEVERITY", "WARN" if settings.env is Env.DEV else "ERROR")
    return MonitoringResource(
        env=settings.env.value,
        max_rows=int(environ.get("AIRBNB_DRIFT_MAX_ROWS", "20000")),
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
