"""Every variable the project reads, declared once with its name spelled out.

``grep -rn AIRBNB_PROD_NODE_TYPE airbnb_assets`` finds it here. TEST and PROD declare the same
settings under their own prefix (:data:`DATABRICKS_VARIABLES`) with the defaults of
:data:`DATABRICKS_DEFAULTS`; the alert channels declare their own variables on their classes
(:mod:`airbnb_assets.resources.notifier.channels`). ``docs/databricks.rst`` documents each one, and a
test checks that every variable the docs name is declared in the package.
"""

from __future__ import annotations

#: Selects the environment (``dev`` | ``test`` | ``prod``).
ENV_VAR = "AIRBNB_ENV"
#: Dagster+ names the deployment here when ``AIRBNB_ENV`` is unset (``prod`` -> PROD, else TEST).
DEPLOYMENT_VAR = "DAGSTER_CLOUD_DEPLOYMENT_NAME"
BRANCH_DEPLOYMENT_VAR = "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT"
#: The workspace URL (and its token, which is never forwarded) that ``databricks-sdk`` reads.
DATABRICKS_HOST_VAR = "DATABRICKS_HOST"
DATABRICKS_TOKEN_VAR = "DATABRICKS_TOKEN"
#: Set on every Databricks cluster: a step there reads its secrets from the scope's variables.
RUNTIME_VAR = "DATABRICKS_RUNTIME_VERSION"

#: DEV (a laptop): the lakehouse root (default ``.lakehouse/`` in the checkout), landing zone, and
#: Spark settings (JSON) added to the local session's own.
DEV_VARIABLES: dict[str, str] = {
    "lakehouse_root": "AIRBNB_LAKEHOUSE_ROOT",
    "landing_path": "AIRBNB_LANDING_PATH",
    "spark_conf": "AIRBNB_SPARK_CONF",
}

#: Drift monitoring, the same variable in every environment.
DRIFT_VARIABLES: dict[str, str] = {
    "severity": "AIRBNB_DRIFT_SEVERITY",
    "max_rows": "AIRBNB_DRIFT_MAX_ROWS",
}

#: The alert channel (``log`` | ``webhook`` | ``slack`` | ``msteams`` | ``email``).
ALERT_BACKEND_VAR = "AIRBNB_ALERT_BACKEND"

#: TEST and PROD (Databricks + Unity Catalog): setting -> variable.
DATABRICKS_VARIABLES: dict[str, dict[str, str]] = {
    "test": {
        "catalog": "AIRBNB_TEST_CATALOG",
        "lakehouse_root": "AIRBNB_TEST_LAKEHOUSE_ROOT",
        "landing_path": "AIRBNB_TEST_LANDING_PATH",
        "compute": "AIRBNB_TEST_COMPUTE",
        "autoloader": "AIRBNB_TEST_AUTOLOADER",
        "mlflow_tracking_uri": "AIRBNB_TEST_MLFLOW_TRACKING_URI",
        "pipes_volume": "AIRBNB_TEST_PIPES_VOLUME",
        "keyvault_url": "AIRBNB_TEST_KEYVAULT_URL",
        "spark_version": "AIRBNB_TEST_SPARK_VERSION",
        "node_type": "AIRBNB_TEST_NODE_TYPE",
        "num_workers": "AIRBNB_TEST_NUM_WORKERS",
        "cluster_id": "AIRBNB_TEST_CLUSTER_ID",
        "instance_pool_id": "AIRBNB_TEST_INSTANCE_POOL_ID",
        "spark_conf": "AIRBNB_TEST_SPARK_CONF",
        "staging_prefix": "AIRBNB_TEST_STAGING_PREFIX",
        "secret_scope": "AIRBNB_TEST_SECRET_SCOPE",
        "run_as": "AIRBNB_TEST_RUN_AS",
        "viewers": "AIRBNB_TEST_VIEWERS",
        "poll_interval": "AIRBNB_TEST_POLL_INTERVAL",
        "wheel": "AIRBNB_TEST_WHEEL",
        "cluster_requirements": "AIRBNB_TEST_CLUSTER_REQUIREMENTS",
    },
    "prod": {
        "catalog": "AIRBNB_PROD_CATALOG",
        "lakehouse_root": "AIRBNB_PROD_LAKEHOUSE_ROOT",
        "landing_path": "AIRBNB_PROD_LANDING_PATH",
        "compute": "AIRBNB_PROD_COMPUTE",
        "autoloader": "AIRBNB_PROD_AUTOLOADER",
        "mlflow_tracking_uri": "AIRBNB_PROD_MLFLOW_TRACKING_URI",
        "pipes_volume": "AIRBNB_PROD_PIPES_VOLUME",
        "keyvault_url": "AIRBNB_PROD_KEYVAULT_URL",
        "spark_version": "AIRBNB_PROD_SPARK_VERSION",
        "node_type": "AIRBNB_PROD_NODE_TYPE",
        "num_workers": "AIRBNB_PROD_NUM_WORKERS",
        "cluster_id": "AIRBNB_PROD_CLUSTER_ID",
        "instance_pool_id": "AIRBNB_PROD_INSTANCE_POOL_ID",
        "spark_conf": "AIRBNB_PROD_SPARK_CONF",
        "staging_prefix": "AIRBNB_PROD_STAGING_PREFIX",
        "secret_scope": "AIRBNB_PROD_SECRET_SCOPE",
        "run_as": "AIRBNB_PROD_RUN_AS",
        "viewers": "AIRBNB_PROD_VIEWERS",
        "poll_interval": "AIRBNB_PROD_POLL_INTERVAL",
        "wheel": "AIRBNB_PROD_WHEEL",
        "cluster_requirements": "AIRBNB_PROD_CLUSTER_REQUIREMENTS",
    },
}

#: A setting's value when its variable is unset; ``{env}`` and ``{catalog}`` are filled in.
DATABRICKS_DEFAULTS: dict[str, str | None] = {
    "catalog": "airbnb_{env}",
    "lakehouse_root": "/Volumes/{catalog}/ops/lakehouse",
    "landing_path": "/Volumes/{catalog}/landing/listings",
    "compute": "step_launcher",
    "autoloader": "1",
    "mlflow_tracking_uri": None,
    "pipes_volume": "/Volumes/{catalog}/ops/lakehouse/_pipes",
    "keyvault_url": None,
    "spark_version": "17.3.x-scala2.13",
    "node_type": "Standard_D4ds_v5",
    "num_workers": "0",
    "cluster_id": None,
    "instance_pool_id": None,
    "spark_conf": "{}",
    "staging_prefix": "/dagster_staging/airbnb_{env}",
    "secret_scope": "airbnb-{env}",
    "run_as": None,
    "viewers": "",
    "poll_interval": "10",
    "wheel": None,
    "cluster_requirements": None,
}

#: Never forwarded to a cluster: there the secrets come from the scope, not from the vault URL.
NOT_FORWARDED = ("keyvault_url",)

#: Forwarded to a cluster besides the environment's own declared settings (never a credential).
FORWARDED: tuple[str, ...] = (
    ENV_VAR,
    DATABRICKS_HOST_VAR,
    DRIFT_VARIABLES["severity"],
    DRIFT_VARIABLES["max_rows"],
)
