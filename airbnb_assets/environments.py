"""The one module that knows about environments (DEV / TEST / PROD, local vs Databricks).

Everything else receives resources built here. One variable picks the environment:
``AIRBNB_ENV`` (``dev`` | ``test`` | ``prod``), or Dagster+'s ``DAGSTER_CLOUD_DEPLOYMENT_NAME``
when ``AIRBNB_ENV`` is unset. DEV is the default and runs on a laptop: local Spark + Delta under
``AIRBNB_LAKEHOUSE_ROOT`` (default ``.lakehouse/`` in the repository). TEST and PROD are declared
Databricks configurations whose values come from environment variables.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airbnb_assets.resources.mlflow import MlflowResource
    from airbnb_assets.resources.monitoring import MonitoringResource
    from airbnb_assets.resources.notifier.resource import NotifierResource
    from airbnb_assets.resources.secrets import SecretsResource

ENV_VAR = "AIRBNB_ENV"
ROOT_VAR = "AIRBNB_LAKEHOUSE_ROOT"
PACKAGE_DIR = Path(__file__).resolve().parent
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
    raw = environ.get(ENV_VAR) or _from_deployment(environ.get("DAGSTER_CLOUD_DEPLOYMENT_NAME"))
    try:
        return Env((raw or Env.DEV.value).lower())
    except ValueError:
        allowed = ", ".join(e.value for e in Env)
        raise ValueError(f"{ENV_VAR}={raw!r} is not one of: {allowed}") from None


def _from_deployment(name: str | None) -> str | None:
    if not name:
        return None
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
    catalog = environ.get(f"AIRBNB_{upper}_CATALOG", f"airbnb_{env.value}")
    return Settings(
        env=env,
        platform="databricks",
        lakehouse_root=environ.get(f"AIRBNB_{upper}_LAKEHOUSE_ROOT", f"/Volumes/{catalog}/ops/lakehouse"),
        landing_path=environ.get(f"AIRBNB_{upper}_LANDING_PATH", f"/Volumes/{catalog}/landing/listings"),
        catalog=catalog,
        spark_master=None,
        databricks_host=environ.get("DATABRICKS_HOST"),
    )


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
            root=settings.env_root, landing_path=settings.landing_path, catalog=settings.catalog, spark=spark
        ),
        "mlflow": mlflow_resource(settings),
        "notifier": notifier_resource(settings),
        "monitoring": monitoring_resource(settings),
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
    from airbnb_assets.resources.mlflow import MlflowResource

    if settings.platform == "local":
        store = f"{settings.env_root}/_mlflow"
        return MlflowResource(
            tracking_uri=f"sqlite:///{store}/mlflow.db", artifact_location=f"{store}/artifacts"
        )
    return MlflowResource(
        tracking_uri="databricks",
        registry_uri="databricks-uc",
        experiment_name=f"/Shared/airbnb_price_{settings.env.value}",
        model_name=f"{settings.catalog}.ml.airbnb_price",
    )
