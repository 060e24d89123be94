"""The Dagster Pipes variant: each Spark asset submits one Databricks run that executes the same asset.

Where the step launcher cannot serve (serverless compute, workspaces whose files live only in
Unity Catalog volumes), ``AIRBNB_<ENV>_COMPUTE=pipes`` replaces every Spark asset by a twin with
the same specs and checks (:func:`remote_asset`) whose body submits a ``spark_python_task``
through ``dagster-databricks``' :class:`~dagster_databricks.PipesDatabricksClient`. On the
cluster, :mod:`airbnb_assets.remote` materializes the original asset with the environment's
resources and reports its materializations and check results back through Pipes (DBFS context
and messages). Nothing is pickled or zipped: the cluster runs the project's installed wheel.
"""

import io
import os
from typing import Any

import dagster as dg

from airbnb_assets.platform.bootstrap import BootstrapConfig
from airbnb_assets.platform.databricks import ClusterSpec, cluster_task

#: The file the cluster runs (uploaded to the staging prefix before each submission).
ENTRYPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "remote.py")


class PipesDatabricksResource(dg.ConfigurableResource):
    """How Pipes reaches the workspace and which cluster it asks for (values, no secrets)."""

    host: str
    env_name: str
    cluster: dict[str, Any]
    libraries: list[dict[str, Any]]
    staging_prefix: str
    spark_env_vars: dict[str, str]
    poll_interval_sec: float = 10.0

    def run(
        self, context: dg.AssetExecutionContext | dg.OpExecutionContext, extras: dict[str, Any] | None = None
    ) -> dg.PipesClientCompletedInvocation:
        """Upload the entrypoint, submit the run for the step's assets, relay what it reports."""
        from dagster_databricks import PipesDatabricksClient
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.service import jobs

        client = WorkspaceClient(host=self.host)  # token / OAuth / Azure identity from the environment
        entry = f"{self.staging_prefix}/pipes/{context.run_id}/remote.py"
        with open(ENTRYPOINT, "rb") as source:
            client.dbfs.upload(entry, io.BytesIO(source.read()), overwrite=True)
        task = {
            "task_key": context.op_def.name,
            "new_cluster": {**self.cluster, "spark_env_vars": dict(self.spark_env_vars)},
            "libraries": self.libraries,
            "spark_python_task": {"python_file": f"dbfs:{entry}"},
        }
        pipes = PipesDatabricksClient(client=client, poll_interval_seconds=self.poll_interval_sec)
        return pipes.run(
            context=context,
            extras=extras,
            task=jobs.SubmitTask.from_dict(task),
            submit_args={"run_name": f"airbnb_assets {self.env_name} (pipes)"},
        )


def pipes_resource(
    spec: ClusterSpec, env_name: str, host: str, variables: dict[str, str]
) -> PipesDatabricksResource:
    """The Pipes resource of an environment, from the same declared cluster as the step launcher."""
    task = cluster_task(spec, env_name, variables)
    return PipesDatabricksResource(
        host=host,
        env_name=env_name,
        cluster=task["new_cluster"],
        libraries=task["libraries"],
        staging_prefix=spec.staging_prefix,
        spark_env_vars=task["new_cluster"]["spark_env_vars"],
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
