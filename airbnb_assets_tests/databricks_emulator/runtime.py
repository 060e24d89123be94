"""The emulated Databricks runtime: a cluster's driver, and each task run on it.

This file is the runtime's own code, not the project's: it is copied into every emulated cluster
and run by the cluster's Python (:mod:`~airbnb_assets_tests.databricks_emulator.environment`),
so it imports only the standard library and what that runtime has (pyspark, delta-spark).

``python runtime.py driver <state.json>``
    The cluster's driver: starts the JVM with Delta and the cluster's ``spark_conf`` (a real
    runtime has Delta built in), writes the Py4J gateway's port and secret to ``state.json`` and
    keeps the JVM warm until the cluster is terminated.

``python runtime.py task <python_file> <parameters...>``
    One task, in a new Python process attached to the driver's JVM (as a Databricks task gets a
    new Python REPL on the cluster's running Spark driver), with the globals a runtime provides:

    * ``spark`` / ``sc``: the cluster's session;
    * ``dbutils.secrets.get`` over the workspace's secret store (a Key Vault-backed scope), and
      ``dbutils.fs`` basics;
    * native SDK authentication: the ``dbruntime`` module ``databricks-sdk`` looks for when
      ``DATABRICKS_RUNTIME_VERSION`` is set, answering the workspace URL and the cluster's token
      (a real runtime authenticates itself the same way; no token is handed to the task).
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import types
from typing import Any


class _Secrets:
    def __init__(self, scopes: dict[str, dict[str, str]]) -> None:
        self._scopes = scopes

    def get(self, scope: str, key: str) -> str:
        try:
            return self._scopes[scope][key]
        except KeyError:
            raise ValueError(f"Secret does not exist with scope: {scope} and key: {key}") from None

    def list(self, scope: str) -> list[Any]:
        return [types.SimpleNamespace(key=k) for k in self._scopes.get(scope, {})]


class _Fs:
    def mkdirs(self, path: str) -> bool:
        os.makedirs(_local(path), exist_ok=True)
        return True

    def ls(self, path: str) -> list[Any]:
        base = _local(path)
        return [types.SimpleNamespace(path=os.path.join(path, n), name=n) for n in sorted(os.listdir(base))]


class DBUtils:
    """The subset of ``dbutils`` a task here uses."""

    def __init__(self, scopes: dict[str, dict[str, str]]) -> None:
        self.secrets = _Secrets(scopes)
        self.fs = _Fs()


def _local(path: str) -> str:
    path = path.removeprefix("dbfs:")
    return path if path.startswith(("/dbfs/", "/Volumes/", "/tmp/")) else "/dbfs" + path


def _dbruntime(namespace: dict[str, Any]) -> None:
    """Install the runtime's ``dbruntime`` module: native SDK auth and the notebook namespace."""
    host, token = os.environ["EMULATOR_HOST"], os.environ["EMULATOR_CLUSTER_TOKEN"]
    provider = types.ModuleType("dbruntime.sdk_credential_provider")

    def init_runtime_native_auth() -> tuple[str, Any]:
        return host, lambda: {"Authorization": f"Bearer {token}"}

    provider.init_runtime_native_auth = init_runtime_native_auth  # type: ignore[attr-defined]
    package = types.ModuleType("dbruntime")
    package.__path__ = []  # type: ignore[attr-defined]

    class UserNamespaceInitializer:
        @staticmethod
        def getOrCreate() -> Any:  # noqa: N802 (the runtime's name)
            return types.SimpleNamespace(get_namespace_globals=lambda: namespace)

    package.UserNamespaceInitializer = UserNamespaceInitializer  # type: ignore[attr-defined]
    sys.modules["dbruntime"] = package
    sys.modules["dbruntime.sdk_credential_provider"] = provider


#: What every Databricks cluster's Spark conf carries (Pipes' DBFS writer reads the tags), and the
#: small-machine settings of a single-node driver.
RUNTIME_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.databricks.clusterUsageTags.clusterLogDeliveryEnabled": "false",
    "spark.databricks.clusterUsageTags.clusterLogDestination": "",
    "spark.sql.shuffle.partitions": "4",
    # Delta rebuilds a table's state in 50 partitions by default. Each of those tasks generated and
    # compiled the deserializer of Delta's nested actions again: on the Pipes day, the driver's task
    # threads used 83 CPU-s of its 183, and 16 of 106 with 2 partitions (as the local sessions use).
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "2g",
    "spark.sql.legacy.javaCharsets": "true",
    # Expressions outside whole-stage code generation interpreted, as the suite's local sessions
    # (conftest.SUITE_SPARK_CONF): a run's 2,000-row samples gain nothing from generated code.
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def driver(state_file: str) -> None:
    """Start the cluster's Spark driver, publish its gateway, and wait to be terminated."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    conf = {
        **RUNTIME_CONF,
        "spark.databricks.clusterUsageTags.clusterId": os.environ["EMULATOR_CLUSTER_ID"],
        "spark.local.dir": os.environ["EMULATOR_SPARK_DIR"],
        "spark.jars.ivy": os.environ["EMULATOR_IVY_DIR"],  # the runtime's Delta jars, not ~/.ivy2.5.2
        **json.loads(os.environ.get("EMULATOR_SPARK_CONF", "{}")),
    }
    builder = SparkSession.builder.master(conf.pop("spark.master", "local[2]")).appName("Databricks Shell")
    for key, value in conf.items():
        builder = builder.config(key, value)
    jars = os.environ.get("EMULATOR_DELTA_JARS")  # resolved when the runtime was built, as DBR ships them
    spark = (
        builder.config("spark.jars", jars) if jars else configure_spark_with_delta_pip(builder)
    ).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    params = spark.sparkContext._gateway.gateway_parameters  # type: ignore[union-attr]
    with open(state_file + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"port": params.port, "secret": params.auth_token, "pid": os.getpid()}, fh)
    os.replace(state_file + ".tmp", state_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def attach() -> Any:
    """The cluster's running session, from a new Python process (``PYSPARK_GATEWAY_*`` set)."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    gateway = launch_gateway()  # connects to the driver's gateway: the port and secret are set
    jvm = gateway.jvm
    jsc = jvm.org.apache.spark.api.java.JavaSparkContext.fromSparkContext(
        jvm.org.apache.spark.SparkContext.getOrCreate()
    )
    sc = SparkContext(gateway=gateway, jsc=jsc, conf=SparkConf(_jconf=jsc.getConf()))
    return SparkSession(sc)


def task(argv: list[str]) -> None:
    """Run the task's file as ``__main__`` with its parameters, on the cluster's session."""
    with open(os.environ["EMULATOR_SECRETS_FILE"], encoding="utf-8") as fh:
        scopes = json.load(fh)
    os.remove(os.environ["EMULATOR_SECRETS_FILE"])
    spark = attach()
    namespace = {"spark": spark, "sc": spark.sparkContext, "dbutils": DBUtils(scopes)}
    _dbruntime(namespace)
    python_file, sys.argv = argv[0], list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(python_file)))
    runpy.run_path(python_file, init_globals=namespace, run_name="__main__")


if __name__ == "__main__":
    if sys.argv[1] == "driver":
        driver(sys.argv[2])
    else:
        task(sys.argv[2:])
