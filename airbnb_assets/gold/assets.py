"""Gold asset: the model-ready feature table, built incrementally from new silver rows.

Silver is read as a Delta stream that skips change commits (``skipChangeCommits``): a re-delivery
deletes the replaced rows of a snapshot from silver and appends the new file's rows. Each
micro-batch therefore *replaces* gold's rows of every snapshot date it touches with the features
of silver's current rows of those dates, so gold always holds the latest delivery of a snapshot;
dates no longer in silver at all are removed from gold.
"""

import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from airbnb_assets.gold.features import FEATURE_TABLE_COLUMNS, FEATURES, KEYS, TARGET, build_features
from airbnb_assets.platform.declare import spark_asset, table_spec
from airbnb_assets.platform.incremental import BatchContext, run_available_now
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.metadata import table_metadata
from airbnb_assets.platform.snapshots import has_snapshot, superseded_dates
from airbnb_assets.platform.tables import GOLD, SILVER
from airbnb_assets.platform.writes import condition_sql

UNIQUE_CHECK = "one_row_per_listing_snapshot"
#: Warns when a snapshot arrives without a single price: it is scored, but cannot be judged
#: (no model drift, no MAE) nor trained on.
LABELS_CHECK = "snapshot_has_prices"
#: Gold metadata: the snapshot dates a run wrote with at least one price (the retrain signal).
LABELLED_SNAPSHOTS = "labelled_snapshots"


def dates_condition(dates: list[dt.date]) -> str:
    """SQL condition selecting the given snapshot dates."""
    return condition_sql([("snapshot_date", "in", sorted(dates))])


def rebuild_dates(
    lakehouse: LakehouseResource, dates: list[dt.date], txn: tuple[str, int]
) -> dict[dt.date, tuple[int, int]]:
    """Replace gold's rows of ``dates`` with the features of silver's current rows.

    Returns, per date, the rows written and the keys written more than once
    (:func:`written_counts`): the write replaces every gold row of those dates, so these are
    the rows and duplicates gold now holds there.
    """
    if not dates:
        return {}
    features = build_features(lakehouse.read(SILVER).filter(F.col("snapshot_date").isin(dates))).cache()
    try:
        lakehouse.replace_rows(features, GOLD, [("snapshot_date", "in", sorted(dates))], txn=txn)
        return written_counts(features)
    finally:
        features.unpersist()


def written_counts(features: DataFrame) -> dict[dt.date, tuple[int, int]]:
    """Per snapshot date of ``features``: its rows and its keys with more than one row (one action)."""
    per_key = features.groupBy(*KEYS).count()
    per_date = per_key.groupBy("snapshot_date").agg(
        F.sum("count").alias("rows"), F.count(F.when(F.col("count") > 1, 1)).alias("duplicate_keys")
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in per_date.collect()}


def drop_vanished_dates(lakehouse: LakehouseResource) -> list[dt.date]:
    """Delete gold rows of snapshot dates silver no longer holds (every row superseded away).

    Only dates with a superseded file in the ledger can vanish (a supersession is silver's only
    deletion), and each is confirmed with one-row reads of silver and gold
    (:func:`~airbnb_assets.platform.snapshots.has_snapshot`), so no scan of the history; without a
    ledger (tables written by hand) both tables' dates are compared in full.
    """
    gold = lakehouse.read_or_none(GOLD)
    if gold is None:
        return []
    silver = lakehouse.read(SILVER)
    candidates = superseded_dates(lakehouse)
    if candidates is None:
        in_silver = {r[0] for r in silver.select("snapshot_date").distinct().collect()}
        vanished = sorted(
            r[0] for r in gold.select("snapshot_date").distinct().collect() if r[0] not in in_silver
        )
    else:
        vanished = [d for d in candidates if not has_snapshot(silver, d) and has_snapshot(gold, d)]
    if vanished:
        lakehouse.delta(GOLD).delete(dates_condition(vanished))
    return vanished


class GoldRun(NamedTuple):
    """What one gold run did: rows written, dates rebuilt, those with prices, their duplicate keys."""

    rows: int
    dates: list[dt.date]
    labelled: list[dt.date]
    duplicate_keys: int = 0

    @property
    def unlabelled(self) -> list[dt.date]:
        """Dates rebuilt without a single price."""
        return [d for d in self.dates if d not in self.labelled]


def run_gold(lakehouse: LakehouseResource) -> GoldRun:
    """Rebuild gold for every snapshot date with silver rows added since the last run."""
    if not lakehouse.exists(SILVER):
        return GoldRun(0, [], [])
    written: list[int] = []
    duplicates: dict[dt.date, int] = {}  # per date rebuilt (even one silver no longer holds)
    labelled: set[dt.date] = set()

    def handle(batch: DataFrame, ctx: BatchContext) -> None:
        # One job tells the dates and which of them are labelled (the retrain sensor reads it).
        per_date = batch.groupBy("snapshot_date").agg(F.count(TARGET).alias("priced")).collect()
        dates = [r[0] for r in per_date]
        counts = rebuild_dates(lakehouse, dates, ctx.txn("gold"))
        written.append(sum(n for n, _ in counts.values()))
        # A later batch that rebuilds a date replaces its rows: its count is what gold holds.
        duplicates.update({d: counts.get(d, (0, 0))[1] for d in dates})
        labelled.update(r[0] for r in per_date if r[1])

    run_available_now(
        lakehouse.read_stream(SILVER, {"skipChangeCommits": "true"}),
        lakehouse.checkpoint("gold_listing_features"),
        handle,
        name="gold_listing_features",
    )
    drop_vanished_dates(lakehouse)
    return GoldRun(sum(written), sorted(duplicates), sorted(labelled), sum(duplicates.values()))


@spark_asset(
    table_spec(GOLD, "gold", columns=FEATURE_TABLE_COLUMNS, deps=[SILVER.key]),
    checks=[
        dg.AssetCheckSpec(
            UNIQUE_CHECK,
            asset=GOLD.key,
            blocking=True,
            description="Exactly one feature row per (listing_id, snapshot_date).",
        ),
        dg.AssetCheckSpec(
            LABELS_CHECK,
            asset=GOLD.key,
            description="Every snapshot this run wrote has at least one price (warns otherwise: "
            "the day is scored, but neither judged nor trained on).",
        ),
    ],
)
def gold_listing_features(
    lakehouse: LakehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Build features for the silver rows added since the last run (not partitioned)."""
    run = run_gold(lakehouse)
    meta = table_metadata(lakehouse, GOLD)
    yield dg.MaterializeResult(
        metadata={
            **meta,
            "rows_written": run.rows,
            # The retrain sensor's signal: snapshots this run wrote with at least one price.
            LABELLED_SNAPSHOTS: ", ".join(map(str, run.labelled)) or "none",
            "features": dg.MetadataValue.md(", ".join(f"`{f.name}`" for f in FEATURES)),
            "target": TARGET,
        }
    )
    # Counted on the rows the run wrote, in the action that counted them: each write replaced every
    # gold row of its dates, so these are all the rows gold holds there (no read of the table).
    yield dg.AssetCheckResult(
        check_name=UNIQUE_CHECK,
        passed=run.duplicate_keys == 0,
        metadata={
            "duplicate_keys": run.duplicate_keys,
            "dates_checked": ", ".join(map(str, run.dates)) or "none",
        },
    )
    unlabelled = ", ".join(map(str, run.unlabelled))
    yield dg.AssetCheckResult(
        check_name=LABELS_CHECK,
        passed=not unlabelled,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"no price in snapshot(s) {unlabelled}: scored, but no model drift can be measured "
            "and no retrain can use them"
            if unlabelled
            else None
        ),
        metadata={"snapshots_without_prices": unlabelled or "none"},
    )
