"""Bronze asset: ingest the newly landed files (Auto Loader semantics)."""

from collections.abc import Iterator

import dagster as dg

from airbnb_assets.ingest.autoloader import run_ingestion
from airbnb_assets.metadata import markdown_table, table_metadata
from airbnb_assets.partitions import DAILY
from airbnb_assets.resources.lakehouse import BRONZE_LISTINGS, LANDING_FILES, LakehouseResource
from airbnb_assets.resources.spark import SparkResource

BRONZE_KEY = dg.AssetKey(BRONZE_LISTINGS.split("/"))
LANDING_FILES_KEY = dg.AssetKey(LANDING_FILES.split("/"))
_KINDS = {"spark", "delta"}


@dg.multi_asset(
    name="bronze_ingest",
    specs=[
        dg.AssetSpec(
            BRONZE_KEY,
            group_name="bronze",
            kinds=_KINDS,
            description="Raw listing rows of every landed file: all columns as strings, "
            "provenance and rescued data. Grows with new columns; never shifts them.",
        ),
        dg.AssetSpec(
            LANDING_FILES_KEY,
            group_name="ops",
            kinds=_KINDS,
            description="Ledger of every landed file seen: ingested, duplicate or failed (reason).",
        ),
    ],
    partitions_def=DAILY,
)
def bronze_ingest(
    context: dg.AssetExecutionContext, spark: SparkResource, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Ingest only the files landed since the last run into ``bronze/listings``."""
    session = spark.session
    lakehouse.ensure_landing()
    report = run_ingestion(session, lakehouse, run_date=context.partition_key)
    failed = report.by_status("failed") + report.by_status("duplicate")
    for f in failed:
        context.log.warning(f"{f['file_name']}: {f['status']} ({f['reason']})")
    yield dg.MaterializeResult(
        asset_key=BRONZE_KEY,
        metadata={
            **table_metadata(session, lakehouse, BRONZE_LISTINGS),
            "files_ingested": len(report.by_status("ingested")),
            "rows_written": report.rows,
            "files": markdown_table(
                [{**f, "columns": len(f["columns"] or [])} for f in report.files],
                ["file_name", "status", "rows", "columns", "encoding", "reason"],
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=LANDING_FILES_KEY,
        metadata={
            **table_metadata(session, lakehouse, LANDING_FILES),
            "files_seen": len(report.files),
            "files_failed": len(report.by_status("failed")),
            "files_duplicate": len(report.by_status("duplicate")),
        },
    )
