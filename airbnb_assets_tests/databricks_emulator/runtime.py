"""What a Databricks runtime gives a ``spark_python_task``, then the task itself.

Run by the emulator as ``python runtime.py <python_file> <parameters...>`` with the cluster's
environment. It provides:

* ``spark`` / ``sc``: a Delta-enabled local session with the cluster spec's ``spark_conf``;
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


def main(argv: list[str]) -> None:
    """Start the runtime, then run the task's file as ``__main__`` with its parameters."""
    from airbnb_assets.platform.spark import get_or_create_session

    with open(os.environ["EMULATOR_SECRETS_FILE"], encoding="utf-8") as fh:
        scopes = json.load(fh)
    os.remove(os.environ["EMULATOR_SECRETS_FILE"])
    # Tags every Databricks cluster's Spark conf carries (Pipes' DBFS writer reads one).
    conf = {
        "spark.databricks.clusterUsageTags.clusterId": os.environ.get("EMULATOR_CLUSTER_ID", "emulated"),
        "spark.databricks.clusterUsageTags.clusterLogDeliveryEnabled": "false",
        "spark.databricks.clusterUsageTags.clusterLogDestination": "",
        **json.loads(os.environ.get("EMULATOR_SPARK_CONF", "{}")),
    }
    spark = get_or_create_session("local[2]", os.environ["EMULATOR_SPARK_DIR"], extra_conf=conf)
    namespace = {"spark": spark, "sc": spark.sparkContext, "dbutils": DBUtils(scopes)}
    _dbruntime(namespace)
    python_file, sys.argv = argv[0], list(argv)
    runpy.run_path(python_file, init_globals=namespace, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
