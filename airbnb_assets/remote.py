"""The Pipes entrypoint on a Databricks cluster: materialize one asset here, report it to Dagster.

Submitted by :mod:`airbnb_assets.pipes` as a ``spark_python_task`` on the run's cluster. It opens
the Pipes session (its parameters arrive as command-line arguments, as on any existing cluster;
context and messages are files on a Unity Catalog volume), materializes the asset the
orchestrator asked for -- the very asset definition DEV runs in process -- with the
environment's resources (built from the variables the cluster was started with, or on a
declared cluster from those the submission carries; Spark is the cluster's session), and
reports each materialization and check result with its metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

#: Dagster metadata classes → the Pipes metadata type that carries them.
PIPES_TYPES = {
    "IntMetadataValue": "int",
    "FloatMetadataValue": "float",
    "BoolMetadataValue": "bool",
    "TextMetadataValue": "text",
    "MarkdownMetadataValue": "md",
    "JsonMetadataValue": "json",
    "UrlMetadataValue": "url",
    "PathMetadataValue": "path",
    "NullMetadataValue": "null",
}


def pipes_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata as Pipes metadata (typed values; other kinds as text)."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        kind = PIPES_TYPES.get(type(value).__name__)
        if isinstance(value, dg.TableMetadataValue):
            columns = [
                {"name": c.name, "type": c.type} for c in (value.schema.columns if value.schema else [])
            ]
            table = {"records": [r.data for r in value.records], "schema": columns}
            out[key] = {"raw_value": table, "type": "table"}
        elif kind is None:
            out[key] = {"raw_value": str(getattr(value, "value", value)), "type": "text"}
        else:
            out[key] = {"raw_value": getattr(value, "value", value), "type": kind}
    return out


def run_here(asset: dg.AssetsDefinition, resources: dict[str, Any], day: str | None) -> Any:
    """Materialize ``asset`` in this process, in a daily run of ``day`` as the daily job would.

    The run carries the day even for the unpartitioned ETL assets, which stamp their ledger rows
    with it (:func:`~airbnb_assets.partitions.processing_day`).
    """
    from airbnb_assets.partitions import DAILY

    job = dg.define_asset_job(
        "remote_step",
        selection=dg.AssetSelection.assets(asset),
        partitions_def=DAILY if day else None,
        executor_def=dg.in_process_executor,
    )
    defs = dg.Definitions(assets=[asset], jobs=[job], resources=resources)
    tags = {"dagster/partition": day} if day else {}  # as the daily job's run is tagged
    return defs.resolve_job_def("remote_step").execute_in_process(tags=tags, raise_on_error=False)


def declared_cluster_environment(extras: Mapping[str, Any]) -> None:
    """On a declared cluster, put the run's variables and secrets into this process's environment.

    A run cluster starts with them; a declared one (``AIRBNB_<ENV>_CLUSTER_ID``) is shared, so
    they arrive in the Pipes extras, each secret as its scope and key, read here by ``dbutils``.
    """
    os.environ.update(extras.get("environment") or {})
    secrets = extras.get("secrets") or {}
    if secrets:
        from databricks.sdk.runtime import dbutils

        for variable, key in secrets.items():
            os.environ[variable] = dbutils.secrets.get(extras["secret_scope"], key)


def main() -> None:
    """Run the asset of the Pipes context and report its results."""
    from dagster_pipes import (
        PipesCliArgsParamsLoader,
        PipesUnityCatalogVolumesContextLoader,
        PipesUnityCatalogVolumesMessageWriter,
        open_dagster_pipes,
    )

    from airbnb_assets.definitions import ASSETS
    from airbnb_assets.environments import build_resources, current_settings
    from airbnb_assets.platform.bootstrap import run_bootstrap

    with open_dagster_pipes(
        params_loader=PipesCliArgsParamsLoader(),
        context_loader=PipesUnityCatalogVolumesContextLoader(),
        message_writer=PipesUnityCatalogVolumesMessageWriter(),
    ) as pipes:
        declared_cluster_environment(pipes.extras)
        resources = {
            **build_resources(current_settings()),
            "pyspark_step_launcher": dg.ResourceDefinition.none_resource(),
        }
        if not pipes.is_asset_step:  # the bootstrap job's op
            report = run_bootstrap(
                resources["lakehouse"], landing_location=pipes.get_extra("landing_location")
            )
            for line in report.lines():
                pipes.log.info(line)
            return
        wanted = set(pipes.asset_keys)
        asset = next(a for a in ASSETS if {k.to_user_string() for k in a.keys} == wanted)
        result = run_here(asset, resources, pipes.partition_key if pipes.is_partition_step else None)
        for event in result.get_asset_materialization_events():
            mat = event.step_materialization_data.materialization
            pipes.report_asset_materialization(
                asset_key=mat.asset_key.to_user_string(), metadata=pipes_metadata(dict(mat.metadata))
            )
        for check in result.get_asset_check_evaluations():
            pipes.report_asset_check(
                check_name=check.check_name,
                passed=check.passed,
                severity=check.severity.value,
                metadata=pipes_metadata(dict(check.metadata)),
                asset_key=check.asset_key.to_user_string(),
            )
        if not result.success:  # the step's error, with its cause, becomes the Pipes step's failure
            failure = next(e for e in result.all_events if e.is_step_failure)
            error = failure.step_failure_data.error
            raise RuntimeError(error.to_string() if error else f"{failure.step_key} failed")


if __name__ == "__main__":
    main()
