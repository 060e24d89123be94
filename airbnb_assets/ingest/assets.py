"""Bronze asset: ingest the newly landed files (Auto Loader semantics)."""

from collections.abc import Iterator

import dagster as dg

from airbnb_assets.ingest.autoloader import run_ingestion
from airbnb_assets.ingest.bronze import PROVENANCE_COLUMNS
from airbnb_assets.partitions import processing_day
from airbnb_assets.platform.declare import spark_asset, table_spec
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.metadata import records_table, table_metadata
from airbnb_assets.platform.tables import BRONZE, LANDING_FILES

#: Columns of the per-file table in the bronze materialization's metadata.
_FILE_COLUMNS = "file_name status rows columns encoding missing_columns new_columns reason".split()


@spark_asset(
    table_spec(BRONZE, "bronze", columns=PROVENANCE_COLUMNS),
    table_spec(LANDING_FILES, "ops"),
    name="bronze_ingest",
)
def bronze_ingest(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Ingest only the files landed since the last run into ``bronze/listings`` (not partitioned)."""
    lakehouse.ensure_landing()
    report = run_ingestion(lakehouse, run_date=processing_day(context))
    for f in [f for f in report.files if f["status"] != "ingested"]:
        context.log.warning(f"{f['file_name']}: {f['status']} ({f['reason']})")
    yield dg.MaterializeResult(
        asset_key=BRONZE.key,
        metadata={
            **table_metadata(lakehouse, BRONZE),
            "files_ingested": len(report.by_status("ingested")),
            "rows_written": report.rows,
            "files": records_table(
                [
                    {
                        **f,
                        "columns": len(f["columns"] or []),
                        "missing_columns": ", ".join(f["missing_columns"] or []),
                        "new_columns": ", ".join(f["new_columns"] or []),
                    }
                    for f in report.files
                ],
                _FILE_COLUMNS,
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=LANDING_FILES.key,
        metadata={
            **table_metadata(lakehouse, LANDING_FILES),
            "files_seen": len(report.files),
            "files_failed": len(report.by_status("failed")),
            "files_duplicate": len(report.by_status("duplicate")),
            "files_ignored": len(report.by_status("ignored")),
        },
    )
