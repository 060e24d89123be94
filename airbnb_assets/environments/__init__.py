"""The one package that knows about environments (DEV / TEST / PROD, local vs Databricks).

Everything else receives resources built here. One variable picks the environment:
``AIRBNB_ENV`` (``dev`` | ``test`` | ``prod``), or Dagster+'s ``DAGSTER_CLOUD_DEPLOYMENT_NAME``
when ``AIRBNB_ENV`` is unset. DEV is the default and runs on a laptop: local Spark + Delta under
``AIRBNB_LAKEHOUSE_ROOT`` (default ``.lakehouse/`` in the repository). TEST and PROD are declared
Databricks configurations whose values come from environment variables.

:mod:`.variables` declares every variable as data, :mod:`.settings` selects the environment and
reads its settings (a pure function of the variables), :mod:`.build` turns settings into resources.
"""

from airbnb_assets.environments.build import (
    build_resources,
    mlflow_resource,
    monitoring_resource,
    notifier_resource,
    pipes_resources,
    secrets_resource,
    spark_resource,
    step_launcher_resource,
)
from airbnb_assets.environments.settings import (
    COMPUTE_MODES,
    DATABRICKS_RUNTIME,
    PACKAGE_DIR,
    SNAPSHOTS_DIR,
    Env,
    Settings,
    cluster_spec,
    current_env,
    current_settings,
    default_lakehouse_root,
    release_wheel,
    settings_for,
)
from airbnb_assets.environments.variables import ENV_VAR

__all__ = [
    "COMPUTE_MODES",
    "DATABRICKS_RUNTIME",
    "ENV_VAR",
    "PACKAGE_DIR",
    "SNAPSHOTS_DIR",
    "Env",
    "Settings",
    "build_resources",
    "cluster_spec",
    "current_env",
    "current_settings",
    "default_lakehouse_root",
    "mlflow_resource",
    "monitoring_resource",
    "notifier_resource",
    "pipes_resources",
    "release_wheel",
    "secrets_resource",
    "settings_for",
    "spark_resource",
    "step_launcher_resource",
]
