"""The Dagster Pipes variant: each Spark asset submits one Databricks run that executes the same asset.

Where the step launcher cannot serve (Unity Catalog workspaces whose DBFS root is disabled, or
where DBFS root's workspace-wide readability is not acceptable), ``AIRBNB_<ENV>_COMPUTE=pipes``
replaces every Spark asset by a twin with the same specs and checks (:func:`remote_asset`) whose
body submits a ``spark_python_task`` through ``dagster-databricks``'
:class:`~dagster_databricks.PipesDatabricksClient`. Everything it stages -- the entrypoint, the
Pipes context and the messages -- lives on a Unity Catalog volume (Files API), never on DBFS.
Like the step launcher, every asset of a run is submitted to the run's one cluster
(:class:`~airbnb_assets.platform.run_cluster.RunCluster`), terminated when the run ends, or to
the cluster an environment declares (``AIRBNB_<ENV>_CLUSTER_ID``), which no run creates or
terminates. A run cluster starts with the run's variables and secret references as its
environment; a declared cluster's environment is its own, so each submission carries them
(Pipes extras: the variables, and each secret's scope and key, never its value). On the
cluster, :mod:`airbnb_assets.remote` materializes the original asset with the environment's
resources and reports its materializations and check results back through Pipes. Nothing is
pickled or zipped: the cluster runs the project's wheel (``AIRBNB_<ENV>_WHEEL``).
"""

import io
import os
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from airbnb_assets.platform.bootstrap import BootstrapConfig
from airbnb_assets.platform.databricks import ClusterSpec, cluster_task
from airbnb_assets.platform.run_cluster import RunCluster

#: The file the cluster runs (uploaded to the staging volume before each submission).
ENTRYPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "remote.py")


class PipesDatabricksResource(dg.ConfigurableResource):
    """How Pipes reaches the workspace, the cluster it runs on, and its staging volume."""

    host: str
    env_name: str
    #: The run cluster's Clusters API ``create`` body (values and secret-scope references only);
    #: ``None`` with a declared cluster.
    cluster: dict[str, Any] | None = None
    #: A declared cluster every run uses (``AIRBNB_<ENV>_CLUSTER_ID``), never created or terminated.
    existing_cluster_id: str | None = None
    #: What a declared cluster gets with each submission: the run's variables, and its secrets
    #: as ``{variable: key}`` of ``secret_scope`` (read on the cluster by ``dbutils.secrets``).
    environment: dict[str, str] = {}
    secret_scope: str | None = None
    secrets: dict[str, str] = {}
    libraries: list[dict[str, Any]]
    #: A Unity Catalog volume folder (``/Volumes/<catalog>/<schema>/<volume>/...``).
    volume: str
    poll_interval_sec: float = 10.0
    _run_cluster: RunCluster | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """One cluster for the run, created by the first asset that needs it (none if declared)."""
        if self.cluster is not None:
            token = os.environ.get("DATABRICKS_TOKEN") or None
            self._run_cluster = RunCluster(self.cluster, f"airbnb_assets {self.env_name}", self.host, token)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Terminate the run's cluster, whatever the run's outcome."""
        if self._run_cluster is not None:
            self._run_cluster.terminate(context.log)

    def run(
        self, context: dg.AssetExecutionContext | dg.OpExecutionContext, extras: dict[str, Any] | None = None
    ) -> dg.PipesClientCompletedInvocation:
        """Upload the entrypoint, submit the run for the step's assets, relay what it reports."""
        from dagster_databricks import PipesDatabricksClient
        from dagster_databricks.pipes import (
            PipesUnityCatalogVolumesContextInjector,
            PipesUnityCatalogVolumesMessageReader,
        )
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.service import jobs

        client = WorkspaceClient(host=self.host)  # token / OAuth / Azure identity from the environment
        entry = f"{self.volume}/{context.run_id}/remote.py"
        with open(ENTRYPOINT, "rb") as source:
            client.files.upload(entry, io.BytesIO(source.read()), overwrite=True)
        task = {
            "task_key": context.op_def.name,
            "existing_cluster_id": self._cluster_id(context),
            "libraries": self.libraries,
            "spark_python_task": {"python_file": entry},
        }
        pipes = PipesDatabricksClient(
            client=client,
            poll_interval_seconds=self.poll_interval_sec,
            context_injector=PipesUnityCatalogVolumesContextInjector(client=client, volume_path=self.volume),
            message_reader=PipesUnityCatalogVolumesMessageReader(
                client=client, volume_path=self.volume, interval=min(self.poll_interval_sec, 10)
            ),
        )
        if self.existing_cluster_id:  # its environment is not the run's: send the run's along
            environment = {"environment": self.environment, "secret_scope": self.secret_scope}
            extras = {**(extras or {}), **environment, "secrets": self.secrets}
        return pipes.run(
            context=context,
            extras=extras,
            task=jobs.SubmitTask.from_dict(task),
            submit_args={"run_name": f"airbnb_assets {self.env_name} (pipes)"},
        )

    def _cluster_id(self, context: dg.AssetExecutionContext | dg.OpExecutionContext) -> str:
        if self.existing_cluster_id:
            return self.existing_cluster_id
        assert self._run_cluster is not None, "the resource is set up for a run"
        return self._run_cluster.ensure(context.log, context.run_id)


def pipes_resource(
    spec: ClusterSpec, env_name: str, host: str, variables: dict[str, str], volume: str
) -> PipesDatabricksResource:
    """The Pipes resource of an environment, from the same declared cluster as the step launcher."""
    task = cluster_task(spec, env_name, variables)
    declared = bool(spec.existing_cluster_id)
    return PipesDatabricksResource(
        host=host,
        env_name=env_name,
        cluster=task.get("new_cluster"),
        existing_cluster_id=spec.existing_cluster_id,
        environment=dict(variables) if declared else {},
        secret_scope=spec.secret_scope if declared else None,
        secrets=dict(spec.secrets) if declared else {},
        libraries=task["libraries"],
        volume=volume,
        poll_interval_sec=spec.poll_interval_sec,
    )


def remote_asset(asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """A twin of ``asset`` (same keys, checks, partitions, groups) whose step runs through Pipes."""
    specs = [spec.replace_attributes(skippable=False) for spec in asset.specs]

    @dg.multi_asset(
        name=asset.node_def.name,
        specs=specs,
        check_specs=list(asset.check_specs),
        partitions_def=asset.partitions_def,
        can_subset=False,
    )
    def _remote(context: dg.AssetExecutionContext, pipes_databricks: PipesDatabricksResource):
        return pipes_databricks.run(context).get_results()

    return _remote


@dg.op(name="bootstrap_catalog", description="Create the catalog's objects, on a cluster through Pipes.")
def remote_bootstrap(
    context: dg.OpExecutionContext, config: BootstrapConfig, pipes_databricks: PipesDatabricksResource
) -> None:
    """``airbnb bootstrap`` in Pipes mode: :mod:`airbnb_assets.remote` runs it on a cluster."""
    pipes_databricks.run(context, extras={"landing_location": config.landing_location}).get_results()


@dg.job(name="bootstrap_job", executor_def=dg.in_process_executor)
def remote_bootstrap_job() -> None:
    """``bootstrap_job`` whose op runs on a Databricks cluster through Pipes."""
    remote_bootstrap()
