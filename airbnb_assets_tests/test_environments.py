"""Settings as declared data: every variable spelled out in the package and documented in docs/."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from airbnb_assets.environments import Env, settings_for
from airbnb_assets.environments.build import spark_resource
from airbnb_assets.environments.variables import DATABRICKS_DEFAULTS, DATABRICKS_VARIABLES, DEV_VARIABLES
from airbnb_assets.resources.notifier.channels import CHANNELS
from airbnb_assets_tests.conftest import SUITE_SPARK_CONF, suite_spark_conf

REPO = Path(__file__).resolve().parent.parent
#: Deployment variables that belong to the CI workflows and Dagster+, not to the package.
DEPLOYMENT_ONLY = {"AIRBNB_IMAGE_REGISTRY"}


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "airbnb_assets").rglob("*.py")))


def _documented() -> set[str]:
    """Every ``AIRBNB_*`` variable the README and docs name (``AIRBNB_<ENV>_X`` as TEST and PROD)."""
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.rst"))]
    )
    names = set(re.findall(r"\bAIRBNB_[A-Z][A-Z0-9_]*[A-Z0-9]\b", text))
    for suffix in re.findall(r"AIRBNB_<ENV>_([A-Z][A-Z0-9_]*[A-Z0-9])", text):
        names |= {f"AIRBNB_TEST_{suffix}", f"AIRBNB_PROD_{suffix}"}
    return names


def _declared() -> set[str]:
    names = {v for variables in DATABRICKS_VARIABLES.values() for v in variables.values()}
    names |= set(DEV_VARIABLES.values())
    return names | {v for channel in CHANNELS.values() for v in channel.VARIABLES.values()}


def test_every_documented_variable_is_spelled_out_in_the_package() -> None:
    source = _source()
    documented = _documented() - DEPLOYMENT_ONLY
    assert "AIRBNB_PROD_NODE_TYPE" in documented and "AIRBNB_SLACK_TOKEN" in documented
    assert sorted(n for n in documented if f'"{n}"' not in source) == []


def test_every_declared_variable_is_documented() -> None:
    assert sorted(_declared() - _documented()) == []


def test_test_and_prod_declare_the_same_settings_each_with_a_default() -> None:
    assert (
        DATABRICKS_VARIABLES["test"].keys()
        == DATABRICKS_VARIABLES["prod"].keys()
        == DATABRICKS_DEFAULTS.keys()
    )
    for env, variables in DATABRICKS_VARIABLES.items():
        assert all(v == f"AIRBNB_{env.upper()}_{name.upper()}" for name, v in variables.items())


def test_dev_spark_settings_reach_the_local_session_and_bad_json_is_refused_by_name() -> None:
    settings = settings_for(Env.DEV, {"AIRBNB_SPARK_CONF": '{"spark.sql.shuffle.partitions": 8}'})
    assert settings.local_spark_conf == {"spark.sql.shuffle.partitions": "8"}
    assert spark_resource(settings).extra_conf == {"spark.sql.shuffle.partitions": "8"}
    assert settings_for(Env.DEV, {}).local_spark_conf == {}
    for raw, message in (("{not json", "is not valid JSON"), ('["a"]', "must be a JSON object")):
        with pytest.raises(ValueError, match=f"AIRBNB_SPARK_CONF {message}"):
            settings_for(Env.DEV, {"AIRBNB_SPARK_CONF": raw})
    # The clusters' settings of TEST and PROD are read the same way.
    test = settings_for(Env.TEST, {"AIRBNB_TEST_SPARK_CONF": '{"spark.sql.shuffle.partitions": 8}'})
    assert test.cluster is not None and test.cluster.spark_conf == {"spark.sql.shuffle.partitions": "8"}
    with pytest.raises(ValueError, match="AIRBNB_PROD_SPARK_CONF must be a JSON object"):
        settings_for(Env.PROD, {"AIRBNB_PROD_SPARK_CONF": "[1]"})


def test_the_suite_runs_its_local_spark_as_it_exports(spark) -> None:  # type: ignore[no-untyped-def]
    """conftest.py's settings reach the suite's session (and, through the variable, its commands)."""
    exported = json.loads(os.environ["AIRBNB_SPARK_CONF"])
    assert exported.keys() >= SUITE_SPARK_CONF.keys()
    java = exported.pop("spark.driver.extraJavaOptions", "")
    assert {k: spark.conf.get(k) for k in exported} == exported
    # Java options add to the session's own, and the driver's JVM runs with them (the suite's
    # serial collector among them).
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert set(java.split()) <= set(runtime.getInputArguments())


def test_a_users_exported_settings_win_and_their_java_options_add_to_the_suites() -> None:
    mine = {"spark.sql.codegen.factoryMode": "FALLBACK", "spark.driver.extraJavaOptions": "-Dmine=1"}
    merged = suite_spark_conf(mine)
    assert merged["spark.sql.codegen.factoryMode"] == "FALLBACK"
    assert merged["spark.driver.extraJavaOptions"] == "-XX:+UseSerialGC -Dmine=1"  # the user's last
    assert suite_spark_conf(merged) == merged  # a worker merges the controller's export again
    assert suite_spark_conf({}) == SUITE_SPARK_CONF
    # A collector of the user's own replaces the suite's: the JVM refuses two.
    g1 = suite_spark_conf({"spark.driver.extraJavaOptions": "-XX:+UseG1GC -Dmine=1"})
    assert g1["spark.driver.extraJavaOptions"] == "-XX:+UseG1GC -Dmine=1"


@pytest.mark.parametrize("env", [Env.TEST, Env.PROD])
def test_each_setting_is_read_from_its_own_variable_only(env: Env) -> None:
    own = settings_for(env, {DATABRICKS_VARIABLES[env.value]["node_type"]: "Standard_E8ds_v5"})
    other = "prod" if env is Env.TEST else "test"
    theirs = settings_for(env, {DATABRICKS_VARIABLES[other]["node_type"]: "Standard_E8ds_v5"})
    assert own.cluster is not None and own.cluster.node_type == "Standard_E8ds_v5"
    assert theirs.cluster is not None and theirs.cluster.node_type == DATABRICKS_DEFAULTS["node_type"]
    assert (
        own.catalog == f"airbnb_{env.value}"
        and own.landing_path == f"/Volumes/airbnb_{env.value}/landing/listings"
    )
