"""The declared Databricks compute of TEST and PROD, and the step launcher built from it (no Spark)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from airbnb_assets.environments import DATABRICKS_RUNTIME, Env, build_resources, settings_for
from airbnb_assets.platform.databricks import cluster_config, libraries

LOCK = Path(__file__).resolve().parents[2] / "uv.lock"


def locked_versions() -> dict[str, str]:
    """Package → version pinned in ``uv.lock``."""
    data = tomllib.loads(LOCK.read_text())
    return {p["name"]: p["version"] for p in data["package"] if "version" in p}


def test_cluster_libraries_are_the_cluster_pins_then_the_wheel_agreeing_with_the_lock() -> None:
    locked = locked_versions()
    wheel = "/Volumes/airbnb_test/ops/releases/airbnb_assets-1.0.0-py3-none-any.whl"
    found = libraries(wheel)
    assert found[-1] == {"whl": wheel}
    pins = dict(lib["pypi"]["package"].split("==") for lib in found[:-1])
    assert {"dagster", "dagster-databricks", "mlflow", "scikit-learn", "evidently"} <= set(pins)
    assert not {"pyspark", "delta-spark", "py4j", "deltalake", "dagster-webserver", "dagster-slack"} & set(
        pins
    )
    # what both sides must agree on: Dagster's event and step protocol, the MLflow model format
    for name in ("dagster", "dagster-databricks", "dagster-pipes", "mlflow"):
        assert pins[name] == locked[name], name


def test_test_environment_declares_a_single_node_cluster_with_an_access_mode() -> None:
    settings = settings_for(Env.TEST, {"DATABRICKS_HOST": "https://adb-1.azuredatabricks.net"})
    assert settings.compute == "step_launcher" and settings.cluster is not None
    new = cluster_config(settings.cluster, "test")["new"]
    assert new["spark_version"] == DATABRICKS_RUNTIME
    assert new["size"] == {"num_workers": 0}
    assert new["nodes"] == {"node_types": {"node_type_id": "Standard_D4ds_v5"}}
    assert new["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    assert {"key": "environment", "value": "test"} in new["custom_tags"]
    assert new["data_security_mode"] == "SINGLE_USER" and "single_user_name" not in new  # the submitter


def test_every_cluster_value_is_overridable_and_a_shared_cluster_replaces_the_job_cluster() -> None:
    environ = {
        "AIRBNB_PROD_NODE_TYPE": "Standard_E8ds_v5",
        "AIRBNB_PROD_NUM_WORKERS": "2",
        "AIRBNB_PROD_SPARK_VERSION": "16.4.x-scala2.12",
        "AIRBNB_PROD_RUN_AS": "0000-sp-app-id",
        "AIRBNB_PROD_INSTANCE_POOL_ID": "pool-1",
    }
    spec = settings_for(Env.PROD, environ).cluster
    assert spec is not None
    new = cluster_config(spec, "prod")["new"]
    assert new["size"] == {"num_workers": 2} and new["spark_version"] == "16.4.x-scala2.12"
    assert new["nodes"] == {"instance_pool_id": "pool-1"}
    assert new["data_security_mode"] == "SINGLE_USER" and new["single_user_name"] == "0000-sp-app-id"
    assert "spark.databricks.cluster.profile" not in new["spark_conf"]
    shared = settings_for(Env.PROD, {"AIRBNB_PROD_CLUSTER_ID": "0101-abc"}).cluster
    assert shared is not None and cluster_config(shared, "prod") == {"existing": "0101-abc"}


def test_secrets_are_forwarded_as_scope_references_never_as_values() -> None:
    environ = {
        "AIRBNB_ENV": "test",
        "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
        "DATABRICKS_TOKEN": "dapi-very-secret",
        "AIRBNB_TEST_CATALOG": "airbnb_test",
        "AIRBNB_TEST_KEYVAULT_URL": "https://kv.vault.azure.net",
        "AIRBNB_ALERT_BACKEND": "webhook",
        "AIRBNB_ALERT_WEBHOOK_URL": "https://hooks.example/very-secret",
    }
    settings = settings_for(Env.TEST, environ)
    assert settings.forwarded == {
        "AIRBNB_ENV": "test",
        "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
        "AIRBNB_TEST_CATALOG": "airbnb_test",
    }
    assert settings.cluster is not None
    assert settings.cluster.secrets == {"AIRBNB_ALERT_WEBHOOK_URL": "airbnb-alert-webhook-url"}
    assert settings.cluster.secret_scope == "airbnb-test"


def test_pipes_on_a_declared_cluster_creates_none_and_sends_the_runs_variables_and_secret_keys(
    tmp_path: Path,
) -> None:
    pins = tmp_path / "cluster-requirements.txt"
    pins.write_text("threadpoolctl==3.5.0\n", encoding="utf-8")
    environ = {
        "AIRBNB_ENV": "test",
        "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
        "AIRBNB_TEST_COMPUTE": "pipes",
        "AIRBNB_TEST_CATALOG": "airbnb_test",
        "AIRBNB_TEST_CLUSTER_REQUIREMENTS": str(pins),
        "AIRBNB_ALERT_BACKEND": "webhook",
        "AIRBNB_ALERT_WEBHOOK_URL": "https://hooks.example/very-secret",
    }
    per_run = build_resources(settings_for(Env.TEST, environ))["pipes_databricks"]
    settings = settings_for(Env.TEST, {**environ, "AIRBNB_TEST_CLUSTER_ID": "0101-team"})
    declared = build_resources(settings)["pipes_databricks"]
    assert settings.cluster is not None
    wheel = {"whl": settings.cluster.wheel}
    for pipes in (per_run, declared):  # the declared pins, not the packaged ones
        assert pipes.libraries == [{"pypi": {"package": "threadpoolctl==3.5.0"}}, wheel]
    # A run's own cluster starts with the variables and secret references as its environment.
    assert per_run.existing_cluster_id is None and per_run.environment == {}
    assert per_run.cluster is not None
    refs = per_run.cluster["spark_env_vars"]
    assert refs["AIRBNB_ALERT_WEBHOOK_URL"] == "{{secrets/airbnb-test/airbnb-alert-webhook-url}}"
    # A declared cluster is never created; each submission carries them instead, secrets by key.
    assert declared.cluster is None and declared.existing_cluster_id == "0101-team"
    assert declared.environment == settings.forwarded
    assert declared.environment["AIRBNB_TEST_CATALOG"] == "airbnb_test"
    assert (declared.secret_scope, declared.secrets) == (
        "airbnb-test",
        {"AIRBNB_ALERT_WEBHOOK_URL": "airbnb-alert-webhook-url"},
    )
    assert "very-secret" not in declared.model_dump_json()


def test_a_declared_clusters_task_takes_the_runs_variables_and_reads_its_secrets_by_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from airbnb_assets.remote import declared_cluster_environment

    asked = []

    def get(scope: str, key: str) -> str:
        asked.append((scope, key))
        return "https://hooks.example/from-the-scope"

    runtime = types.ModuleType("databricks.sdk.runtime")
    runtime.dbutils = types.SimpleNamespace(secrets=types.SimpleNamespace(get=get))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "databricks.sdk.runtime", runtime)
    for name in ("AIRBNB_TEST_CATALOG", "AIRBNB_ALERT_WEBHOOK_URL"):  # restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    declared_cluster_environment({})  # a run cluster's task: nothing to add
    assert "AIRBNB_TEST_CATALOG" not in os.environ and asked == []
    declared_cluster_environment(
        {
            "environment": {"AIRBNB_TEST_CATALOG": "airbnb_test"},
            "secret_scope": "airbnb-test",
            "secrets": {"AIRBNB_ALERT_WEBHOOK_URL": "airbnb-alert-webhook-url"},
        }
    )
    assert os.environ["AIRBNB_TEST_CATALOG"] == "airbnb_test"
    assert os.environ["AIRBNB_ALERT_WEBHOOK_URL"] == "https://hooks.example/from-the-scope"
    assert asked == [("airbnb-test", "airbnb-alert-webhook-url")]


def test_dev_has_no_launcher_and_a_bad_compute_mode_is_refused() -> None:
    dev = settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": "/tmp/x"})
    launcher = build_resources(dev)["pyspark_step_launcher"]
    assert launcher.resource_fn(None) is None
    with pytest.raises(ValueError, match=re.escape("AIRBNB_TEST_COMPUTE='spark' is not one of")):
        settings_for(Env.TEST, {"AIRBNB_TEST_COMPUTE": "spark"})


def test_mlflow_on_databricks_tracks_to_the_workspace_and_registers_in_unity_catalog() -> None:
    from airbnb_assets.environments import mlflow_resource

    prod = mlflow_resource(settings_for(Env.PROD, {"AIRBNB_PROD_CATALOG": "airbnb_prod"}))
    assert (prod.tracking_uri, prod.registry_uri) == ("databricks", "databricks-uc")
    assert prod.model_name == "airbnb_prod.ml.airbnb_price"
    assert prod.experiment_name == "/Shared/airbnb_price_prod"
    own = mlflow_resource(settings_for(Env.TEST, {"AIRBNB_TEST_MLFLOW_TRACKING_URI": "http://mlflow:5000"}))
    assert own.tracking_uri == "http://mlflow:5000" and own.model_name == "airbnb_test.ml.airbnb_price"


def test_the_launchers_code_copy_holds_only_the_package_and_is_removed_when_the_process_exits() -> None:
    """Each process that launches steps copied the package to a temporary folder and left it there."""
    code = (
        "import os; from airbnb_assets.platform.databricks import code_package_dir; "
        "d = code_package_dir(); print(d); print(sorted(os.listdir(d))); "
        "print(os.path.isdir(os.path.join(d, 'airbnb_assets', 'data')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    folder, listing, has_data = out.stdout.splitlines()
    assert listing == "['airbnb_assets']" and has_data == "False"
    assert not Path(folder).exists()
