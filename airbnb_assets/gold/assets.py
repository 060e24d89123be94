"""Gold asset: the model-ready feature table, built incrementally from new silver rows."""

from collections.abc import Iterator

import dagster as dg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from airbnb_assets.gold.features import FEATURES, KEYS, TARGET, build_features
from airbnb_assets.incremental import BatchContext, run_available_now
from airbnb_assets.metadata import table_metadata
from airbnb_assets.partitions import DAILY
from airbnb_assets.resources.lakehouse import GOLD_FEATURES, SILVER_LISTINGS, LakehouseResource
from airbnb_assets.resources.spark import SparkResource
from airbnb_assets.silver.assets import SILVER_KEY

GOLD_KEY = dg.AssetKey(GOLD_FEATURES.split("/"))
UNIQUE_CHECK = "one_row_per_listing_snapshot"


def run_gold(spark: SparkSession, lakehouse: LakehouseResource) -> int:
    """Append features for every silver row added since the last run; return rows written."""
    if not lakehouse.exists(spark, SILVER_LISTINGS):
        return 0
    written: list[int] = []

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        features = build_features(batch)
        lakehouse.append(features, GOLD_FEATURES, txn=ctx.txn("gold"))
        written.append(batch.count())

    run_available_now(
        lakehouse.read_stream(spark, SILVER_LISTINGS),
        lakehouse.checkpoint("gold_listing_features"),
        handle,
        name="gold_listing_features",
    )
    return sum(written)


@dg.asset(
    key=GOLD_KEY,
    deps=[SILVER_KEY],
    group_name="gold",
    kinds={"spark", "delta"},
    partitions_def=DAILY,
    check_specs=[
        dg.AssetCheckSpec(
            UNIQUE_CHECK,
            asset=GOLD_KEY,
            blocking=True,
            description="Exactly one feature row per (listing_id, snapshot_date).",
        )
    ],
    description="Model-ready features per listing and snapshot (declared feature list) "
    "plus the nullable price target.",
)
def gold_listing_features(
    context: dg.AssetExecutionContext, spark: SparkResource, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Build features for the silver rows added since the last run."""
    session = spark.session
    rows = run_gold(session, lakehouse)
    meta = table_metadata(session, lakehouse, GOLD_FEATURES)
    yield dg.MaterializeResult(
        metadata={
            **meta,
            "rows_written": rows,
            "features": dg.MetadataValue.md(", ".join(f"`{f.name}`" for f in FEATURES)),
            "target": TARGET,
        }
    )
    gold = lakehouse.read_or_none(session, GOLD_FEATURES)
    duplicates = 0 if gold is None else gold.groupBy(*KEYS).count().filter(F.col("count") > 1).count()
    yield dg.AssetCheckResult(
        check_name=UNIQUE_CHECK, passed=duplicates == 0, metadata={"duplicate_keys": duplicates}
    )
