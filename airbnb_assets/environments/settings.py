"""Which environment runs, and its settings as plain values (no Dagster, no Spark)."""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airbnb_assets.environments.variables import (
    ALERT_BACKEND_VAR,
    BRANCH_DEPLOYMENT_VAR,
    DATABRICKS_DEFAULTS,
    DATABRICKS_HOST_VAR,
    DATABRICKS_VARIABLES,
    DEPLOYMENT_VAR,
    DEV_VARIABLES,
    ENV_VAR,
    FORWARDED,
    NOT_FORWARDED,
)
from airbnb_assets.platform.databricks import ClusterSpec

if TYPE_CHECKING:
    from airbnb_assets.resources.notifier.channels import AlertChannel

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Databricks Runtime of the job clusters (LTS, Spark 4.0, Scala 2.13).
DATABRICKS_RUNTIME = DATABRICKS_DEFAULTS["spark_version"] or ""
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
    #: DEV: Spark settings applied over the local session's own (``AIRBNB_SPARK_CONF``, JSON).
    local_spark_conf: Mapping[str, str] = field(default_factory=dict)

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
        environ.get(DEPLOYMENT_VAR), environ.get(BRANCH_DEPLOYMENT_VAR) == "1"
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
    """The declared configuration of ``env``, read from its variables (:mod:`.variables`)."""
    environ = os.environ if environ is None else environ
    if env is Env.DEV:
        root = environ.get(DEV_VARIABLES["lakehouse_root"]) or default_lakehouse_root()
        conf_variable = DEV_VARIABLES["spark_conf"]
        return Settings(
            env=env,
            platform="local",
            lakehouse_root=root,
            landing_path=environ.get(DEV_VARIABLES["landing_path"])
            or f"{root.rstrip('/')}/{env.value}/landing/listings",
            local_spark_conf=json_object(conf_variable, environ.get(conf_variable)),
        )
    # TEST and PROD: Databricks + Unity Catalog; landing in a UC volume backed by ADLS Gen2.
    values = databricks_values(env, environ)
    compute = values["compute"] or ""
    if compute not in COMPUTE_MODES[1:]:
        variable = DATABRICKS_VARIABLES[env.value]["compute"]
        raise ValueError(f"{variable}={compute!r} is not one of: step_launcher, pipes")
    return Settings(
        env=env,
        platform="databricks",
        lakehouse_root=values["lakehouse_root"] or "",
        landing_path=values["landing_path"] or "",
        catalog=values["catalog"],
        spark_master=None,
        databricks_host=environ.get(DATABRICKS_HOST_VAR),
        compute=compute,
        autoloader=values["autoloader"] != "0",
        cluster=cluster_spec(env, environ, values),
        mlflow_tracking_uri=values["mlflow_tracking_uri"],
        forwarded=forwarded(env, environ),
        pipes_volume=values["pipes_volume"],
    )


def json_object(variable: str, raw: str | None) -> dict[str, str]:
    """``raw``, a JSON object of settings (``{}`` when unset); raises naming ``variable`` if it is not one."""
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{variable} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{variable} must be a JSON object of settings, not {type(value).__name__}")
    # Spark takes every setting as a string: JSON's true and 8 become "true" and "8".
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def databricks_values(env: Env, environ: Mapping[str, str]) -> dict[str, str | None]:
    """Each declared setting of TEST or PROD: its variable's value, else its default."""
    values: dict[str, str | None] = {"env": env.value}
    for name, variable in DATABRICKS_VARIABLES[env.value].items():
        default = DATABRICKS_DEFAULTS[name]
        if default is not None:  # fill in {env} and {catalog} (spark_conf's "{}" is JSON, kept)
            default = default.replace("{env}", env.value).replace("{catalog}", values.get("catalog") or "")
        values[name] = environ.get(variable) or default
    return values


def cluster_spec(
    env: Env, environ: Mapping[str, str], values: Mapping[str, str | None] | None = None
) -> ClusterSpec:
    """The declared job cluster of TEST or PROD; every value can be overridden by its variable.

    ``values`` are :func:`databricks_values` when the caller has them already.
    """
    v = databricks_values(env, environ) if values is None else values
    return ClusterSpec(
        spark_version=v["spark_version"] or DATABRICKS_RUNTIME,
        node_type=v["node_type"] or "",
        num_workers=int(v["num_workers"] or 0),
        existing_cluster_id=v["cluster_id"],
        instance_pool_id=v["instance_pool_id"],
        spark_conf=json_object(DATABRICKS_VARIABLES[env.value]["spark_conf"], v["spark_conf"]),
        staging_prefix=v["staging_prefix"] or "",
        secret_scope=v["secret_scope"] or "",
        secrets=cluster_secrets(environ),
        run_as=v["run_as"],
        viewers=tuple(g for g in (v["viewers"] or "").split(",") if g),
        poll_interval_sec=float(v["poll_interval"] or 10),
        wheel=v["wheel"] or release_wheel(v["catalog"] or ""),
        **({"requirements": Path(req)} if (req := v["cluster_requirements"]) else {}),
    )


def release_wheel(catalog: str) -> str:
    """Where this release's wheel lives on the catalog's lakehouse volume (``airbnb publish-wheel``)."""
    from airbnb_assets import __version__

    return f"/Volumes/{catalog}/ops/lakehouse/_releases/airbnb_assets-{__version__}-py3-none-any.whl"


def channel_class(environ: Mapping[str, str]) -> type[AlertChannel]:
    """The alert channel class ``AIRBNB_ALERT_BACKEND`` selects (``log`` when unset).

    Raises:
        ValueError: The variable names no channel (the message names the choices).
    """
    from airbnb_assets.resources.notifier.channels import CHANNELS

    name = (environ.get(ALERT_BACKEND_VAR) or "log").strip().lower()
    if name not in CHANNELS:
        raise ValueError(f"{ALERT_BACKEND_VAR}={name!r} is not one of: {', '.join(CHANNELS)}")
    return CHANNELS[name]


def cluster_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """The alert channel's secrets, exported on a cluster from the scope (variable -> Key Vault name)."""
    from airbnb_assets.resources.secrets import keyvault_name

    channel = channel_class(environ)
    return {channel.VARIABLES[f]: keyvault_name(channel.VARIABLES[f]) for f in channel.SECRETS}


def forwarded(env: Env, environ: Mapping[str, str]) -> dict[str, str]:
    """What the launcher forwards to a cluster: :data:`.FORWARDED` and the environment's settings."""
    own = [v for name, v in DATABRICKS_VARIABLES[env.value].items() if name not in NOT_FORWARDED]
    return {n: environ[n] for n in (*FORWARDED, *own) if environ.get(n)}


def current_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings of the environment selected in ``environ`` (default: the process environment)."""
    return settings_for(current_env(environ), environ)
