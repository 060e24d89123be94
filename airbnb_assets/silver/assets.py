"""Silver assets: typed listings, quarantine and data-quality history; one check per rule."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from airbnb_assets.ingest.columns import column_report
from airbnb_assets.partitions import processing_day
from airbnb_assets.platform.declare import spark_asset, table_spec
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.metadata import records_table, table_metadata
from airbnb_assets.platform.tables import BRONZE, DATA_QUALITY, SILVER, SILVER_QUARANTINE
from airbnb_assets.silver.expectations import EXPECTATIONS, Expectation
from airbnb_assets.silver.redelivery import name_of
from airbnb_assets.silver.schema import QUARANTINE_TABLE_COLUMNS, SILVER_TABLE_COLUMNS
from airbnb_assets.silver.step import SilverReport, held_now, run_silver

RECONCILE_CHECK = "rows_reconcile_with_bronze"
COLUMNS_CHECK = "no_declared_column_dropped"


def check_name(rule: Expectation) -> str:
    """Name of the asset check that reports a rule."""
    return f"expect_{rule.name}"


def rule_check_result(rule: Expectation, quality: list[dict[str, Any]]) -> dg.AssetCheckResult:
    """The check result of one rule from a run's data-quality records (one per source file).

    A ``fail`` rule's check also names the files it held (``held_files``) and the command that
    releases or rejects each one.
    """
    mine = [q for q in quality if q["rule"] == rule.name]
    failed = sum(q["failed_rows"] for q in mine)
    total = sum(q["total_rows"] for q in mine)
    failing = [q for q in mine if not rule.passes(q["failed_rows"], q["total_rows"])]
    held = sorted({name_of(q["source_file"]) for q in failing if not q["committed"]})
    metadata: dict[str, Any] = {
        "action": rule.action,
        "max_failed_share": rule.failed_share_limit,
        "predicate": dg.MetadataValue.text(rule.predicate),
        "rows_evaluated": total,
        "rows_failed": failed,
        "failed_pct": round(100.0 * failed / total, 3) if total else 0.0,
        "by_snapshot": records_table(
            [
                {**q, "snapshot_date": str(q["snapshot_date"]), "file": name_of(q.get("source_file") or "")}
                for q in mine
            ],
            ["snapshot_date", "file", "total_rows", "failed_rows"],
        ),
    }
    if rule.action == "fail":
        metadata["held_files"] = ", ".join(held) or "none"
        if held:
            metadata["next_step"] = dg.MetadataValue.md(
                " · ".join(f"`airbnb release {f}` or `airbnb reject {f}`" for f in held)
                + " (runbook: *A file held by a fail rule*)"
            )
    return dg.AssetCheckResult(
        check_name=check_name(rule),
        asset_key=SILVER.key,
        passed=not failing,
        severity=dg.AssetCheckSeverity(rule.check_severity),
        metadata=metadata,
    )


def log_held_and_superseded(context: dg.AssetExecutionContext, report: SilverReport) -> None:
    """One warning per file held by a fail rule (with the way out) and per superseded file."""
    for path, reason in sorted(report.held.items()):
        name = name_of(path)
        context.log.warning(
            f"{name} {reason}: its rows wait in silver/listings_quarantine; "
            f"`airbnb release {name}` or `airbnb reject {name}`"
        )
    for path, winner in sorted(report.superseded.items()):
        context.log.info(f"{name_of(path)} superseded by {name_of(winner)}")


def reconcile(lakehouse: LakehouseResource, dates: list[Any]) -> list[dict[str, Any]]:
    """Per snapshot date: bronze rows vs silver + quarantine rows (they must be equal)."""
    if not dates:
        return []
    counts = {
        table.name: lakehouse.grouped_counts(table, column, [(column, "in", dates)])
        for table, column in (
            (BRONZE, "_snapshot_date"),
            (SILVER, "snapshot_date"),
            (SILVER_QUARANTINE, "snapshot_date"),
        )
    }
    return [
        {
            "snapshot_date": str(d),
            "bronze": counts[BRONZE.name].get(d, 0),
            "silver": counts[SILVER.name].get(d, 0),
            "quarantine": counts[SILVER_QUARANTINE.name].get(d, 0),
        }
        for d in sorted(dates)
    ]


def columns_check_result(lakehouse: LakehouseResource, report: SilverReport) -> dg.AssetCheckResult:
    """WARN when a file of the run lacks a declared column its previous delivery had (renamed or dropped).

    The metadata lists, per file, the declared columns it lacks and its undeclared new columns
    (``ops/landing_files`` keeps the same per file); see :mod:`airbnb_assets.ingest.columns`.
    """
    dates = report.snapshot_dates
    files = column_report(report.ingested(lakehouse), dates) if dates else []
    shown = [{k: ", ".join(v) if isinstance(v, list) else v for k, v in f.items()} for f in files]
    return dg.AssetCheckResult(
        check_name=COLUMNS_CHECK,
        asset_key=SILVER.key,
        passed=not any(f["dropped"] for f in files),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "dropped_columns": ", ".join(sorted({c for f in files for c in f["dropped"]})) or "none",
            "files": records_table(
                shown,
                ["file_name", "previous_file", "dropped", "missing_columns", "new_columns"],
            ),
        },
    )


@spark_asset(
    table_spec(SILVER, "silver", columns=SILVER_TABLE_COLUMNS, deps=[BRONZE.key]),
    table_spec(SILVER_QUARANTINE, "silver", columns=QUARANTINE_TABLE_COLUMNS, deps=[BRONZE.key]),
    table_spec(DATA_QUALITY, "ops", deps=[BRONZE.key]),
    name="silver_listings",
    checks=[
        dg.AssetCheckSpec(
            check_name(r),
            asset=SILVER.key,
            blocking=r.action == "fail",
            description=f"[{r.action}] {r.description}",
        )
        for r in EXPECTATIONS
    ]
    + [
        dg.AssetCheckSpec(
            RECONCILE_CHECK,
            asset=SILVER.key,
            blocking=True,
            description="silver + quarantine rows == bronze rows per snapshot.",
        ),
        dg.AssetCheckSpec(
            COLUMNS_CHECK,
            asset=SILVER.key,
            description="[warn] Every declared column the previous delivery carried is in each new "
            "file's header (a renamed or dropped source column fails); lists missing and new columns.",
        ),
    ],
)
def silver_listings(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Parse, type and check the bronze rows appended since the last run (not partitioned)."""
    report = run_silver(lakehouse, context.run.run_id, processing_day(context))
    log_held_and_superseded(context, report)
    yield dg.MaterializeResult(
        asset_key=SILVER.key,
        metadata={
            **table_metadata(lakehouse, SILVER),
            "rows_evaluated": report.evaluated,
            "rows_written": report.evaluated - report.quarantined,
            "snapshot_dates": ", ".join(str(d) for d in report.snapshot_dates) or "none",
        },
    )
    yield dg.MaterializeResult(
        asset_key=SILVER_QUARANTINE.key,
        metadata={
            **table_metadata(lakehouse, SILVER_QUARANTINE),
            "rows_written": report.quarantined,
            "files_held": records_table(
                [{"file": name_of(f), "held_rows": n} for f, n in sorted(held_now(lakehouse).items())],
                ["file", "held_rows"],
            ),
            "files_superseded": ", ".join(sorted(name_of(f) for f in report.superseded)) or "none",
        },
    )
    yield dg.MaterializeResult(
        asset_key=DATA_QUALITY.key,
        metadata={**table_metadata(lakehouse, DATA_QUALITY), "records_written": len(report.quality)},
    )
    for rule in EXPECTATIONS:
        yield rule_check_result(rule, report.quality)
    rows = reconcile(lakehouse, report.snapshot_dates)
    yield dg.AssetCheckResult(
        check_name=RECONCILE_CHECK,
        asset_key=SILVER.key,
        passed=all(r["bronze"] == r["silver"] + r["quarantine"] for r in rows),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"by_snapshot": records_table(rows, ["snapshot_date", "bronze", "silver", "quarantine"])},
    )
    yield columns_check_result(lakehouse, report)
