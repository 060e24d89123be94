"""Gold asset: the model-ready feature table, built incrementally from new silver rows."""

from collections.abc import Iterator

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from airbnb_assets.gold.features import FEATURES, KEYS, TARGET, build_features
from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.metadata import table_metadata
from airbnb_assets.platform.tables import GOLD, SILVER

UNIQUE_CHECK = "one_row_per_listing_snapshot"


def run_gold(lakehouse: LakehouseResource) -> int:
    """Append features for every silver row added since the last run; return rows written."""
    if not lakehouse.exists(SILVER):
        return 0
    written: list[int] = []

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        features = build_features(batch)
        lakehouse.append(features, GOLD, txn=ctx.txn("gold"))
        written.append(batch.count())

    run_available_now(
        lakehouse.read_stream(SILVER),
        lakehouse.checkpoint("gold_listing_features"),
        handle,
        name="gold_listing_features",
    )
    return sum(written)


@dg.asset(
    key=GOLD.key,
    deps=[SILVER.key],
    group_name="gold",
    kinds={"spark", "delta"},
    check_specs=[
        dg.AssetCheckSpec(
            UNIQUE_CHECK,
            asset=GOLD.key,
            blocking=True,
            description="Exactly one feature row per (listing_id, snapshot_date).",
        )
    ],
    description=GOLD.description,
)
def gold_listing_features(
    lakehouse: LakehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Build features for the silver rows added since the last run (not partitioned)."""
    rows = run_gold(lakehouse)
    meta = table_metadata(lakehouse, GOLD)
    yield dg.MaterializeResult(
        metadata={
            **meta,
            "rows_written": rows,
            "features": dg.MetadataValue.md(", ".join(f"`{f.name}`" for f in FEATURES)),
            "target": TARGET,
        }
    )
    gold = lakehouse.read_or_none(GOLD)
    duplicates = 0 if gold is None else gold.groupBy(*KEYS).count().filter(F.col("count") > 1).count()
    yield dg.AssetCheckResult(
        check_name=UNIQUE_CHECK, passed=duplicates == 0, metadata={"duplicate_keys": duplicates}
    )
