"""Silver assets: typed listings, quarantine and data-quality history; one check per rule."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from pyspark.sql import functions as F

from airbnb_assets.partitions import processing_day
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.metadata import markdown_table, table_metadata
from airbnb_assets.platform.tables import BRONZE, DATA_QUALITY, SILVER, SILVER_QUARANTINE, Table
from airbnb_assets.silver.expectations import EXPECTATIONS, Expectation
from airbnb_assets.silver.quality import ExpectationFailed
from airbnb_assets.silver.step import run_silver

RECONCILE_CHECK = "rows_reconcile_with_bronze"
_KINDS = {"spark", "delta"}


def check_name(rule: Expectation) -> str:
    """Name of the asset check that reports a rule."""
    return f"expect_{rule.name}"


def rule_check_result(rule: Expectation, quality: list[dict[str, Any]]) -> dg.AssetCheckResult:
    """The check result of one rule from a run's data-quality records."""
    mine = [q for q in quality if q["rule"] == rule.name]
    failed = sum(q["failed_rows"] for q in mine)
    total = sum(q["total_rows"] for q in mine)
    return dg.AssetCheckResult(
        check_name=check_name(rule),
        asset_key=SILVER.key,
        passed=all(rule.passes(q["failed_rows"], q["total_rows"]) for q in mine),
        severity=dg.AssetCheckSeverity(rule.check_severity),
        metadata={
            "action": rule.action,
            "max_failed_share": rule.max_failed_share,
            "predicate": dg.MetadataValue.text(rule.predicate),
            "rows_evaluated": total,
            "rows_failed": failed,
            "failed_pct": round(100.0 * failed / total, 3) if total else 0.0,
            "by_snapshot": markdown_table(
                [{**q, "snapshot_date": str(q["snapshot_date"])} for q in mine],
                ["snapshot_date", "total_rows", "failed_rows"],
            ),
        },
    )


def reconcile(lakehouse: LakehouseResource, dates: list[Any]) -> list[dict[str, Any]]:
    """Per snapshot date: bronze rows vs silver + quarantine rows (they must be equal)."""
    if not dates:
        return []

    def counts(table: Table) -> dict[Any, int]:
        df = lakehouse.read_or_none(table)
        if df is None:
            return {}
        date_col = "_snapshot_date" if table == BRONZE else "snapshot_date"
        rows = df.filter(F.col(date_col).isin(dates)).groupBy(date_col).count().collect()
        return {r[0]: r[1] for r in rows}

    bronze, silver, quarantine = (counts(t) for t in (BRONZE, SILVER, SILVER_QUARANTINE))
    return [
        {
            "snapshot_date": str(d),
            "bronze": bronze.get(d, 0),
            "silver": silver.get(d, 0),
            "quarantine": quarantine.get(d, 0),
        }
        for d in sorted(dates)
    ]


@dg.multi_asset(
    name="silver_listings",
    specs=[
        dg.AssetSpec(
            SILVER.key,
            deps=[BRONZE.key],
            group_name="silver",
            kinds=_KINDS,
            description=SILVER.description,
        ),
        dg.AssetSpec(
            SILVER_QUARANTINE.key,
            deps=[BRONZE.key],
            group_name="silver",
            kinds=_KINDS,
            description=SILVER_QUARANTINE.description,
        ),
        dg.AssetSpec(
            DATA_QUALITY.key,
            deps=[BRONZE.key],
            group_name="ops",
            kinds=_KINDS,
            description=DATA_QUALITY.description,
        ),
    ],
    check_specs=[
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
        )
    ],
)
def silver_listings(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Parse, type and check the bronze rows appended since the last run (not partitioned)."""
    try:
        report = run_silver(lakehouse, context.run.run_id, processing_day(context))
    except ExpectationFailed as exc:
        for rule in EXPECTATIONS:
            yield rule_check_result(rule, exc.records)
        raise dg.Failure(description=str(exc)) from exc
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
        metadata={"by_snapshot": markdown_table(rows, ["snapshot_date", "bronze", "silver", "quarantine"])},
    )
