"""The predictions asset: the day's listings scored by the model that served that day.

The serving version is read from the MLflow registry (:func:`~airbnb_assets.ml.serving.serving_version`:
trained only on snapshots before the one scored), not through an asset edge: the model depends on the
drift report, which depends on these predictions. A rerun or backfill of day D replaces D.
"""

import datetime as dt

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from airbnb_assets.ml.calibration import DayCalibration, day_ratios
from airbnb_assets.ml.prediction_stats import day_stats, stats_rows
from airbnb_assets.ml.scoring import score, serve
from airbnb_assets.ml.serving import CHAMPION, check_registry, interval_band, serving_version
from airbnb_assets.partitions import partition_day
from airbnb_assets.platform.declare import spark_asset, table_spec
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.metadata import table_metadata
from airbnb_assets.platform.snapshots import latest_snapshot
from airbnb_assets.platform.tables import (
    DRIFT_METRICS,
    GOLD,
    PREDICTION_STATS_REPORT,
    PREDICTIONS,
    PREDICTIONS_QUARANTINE,
)
from airbnb_assets.resources.mlflow import MlflowResource

CONTRACT_CHECK = "feature_contract_complete"
SCORED_CHECK = "every_row_scored"


@spark_asset(
    table_spec(
        PREDICTIONS,
        "ml",
        deps=[GOLD.key],
        kinds={"mlflow"},
        description="Daily price predictions for the latest snapshot up to the day, by the champion "
        "that served when the day began (trained only on earlier snapshots; a rerun or backfill "
        "replaces the day), moved to the day's market level with an 80 % interval from the day's "
        "other listings (airbnb_assets.ml.calibration). Rows that cannot be scored go to "
        "gold/price_predictions_quarantine.",
    ),
    checks=[
        dg.AssetCheckSpec(
            CONTRACT_CHECK,
            asset=PREDICTIONS.key,
            description="Every feature of the contract was present in the scored table.",
        ),
        dg.AssetCheckSpec(
            SCORED_CHECK,
            asset=PREDICTIONS.key,
            blocking=True,
            description="Every input row was scored or quarantined with a reason.",
        ),
    ],
)
def price_predictions(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Score the day's listings in Spark with the model serving that snapshot."""
    client = mlflow.activate()
    day = partition_day(context)
    gold = lakehouse.read_or_none(GOLD)
    snapshot = latest_snapshot(lakehouse, gold, day, source=GOLD) if gold is not None else None
    if gold is None or snapshot is None:
        return dg.MaterializeResult(
            metadata={"rows_scored": 0, "reason": "no listings up to this day"},
            check_results=_checks([], 0, 0, 0),
        )
    champion = serving_version(client, mlflow.model_name, before=snapshot)
    if champion is None:
        check_registry(client, mlflow.model_name, scored_rows(lakehouse), mlflow.tracking_uri)
        # The first model is trained at the end of the first labelled day and serves from the next.
        context.log.info(f"no model trained before {snapshot} yet: nothing scored for {day}")
        return dg.MaterializeResult(
            metadata={"rows_scored": 0, "reason": f"no '{CHAMPION}' trained before snapshot {snapshot} yet"},
            check_results=_checks([], 0, 0, 0),
        )
    todays = gold.filter(F.col("snapshot_date") == F.lit(snapshot)).cache()  # counted, then scored
    try:
        inputs = todays.count()
        scored = score(
            lakehouse.session,
            todays,
            f"models:/{mlflow.model_name}/{champion.version}",  # pinned: the version recorded is the one used
            mlflow.model_name,
            str(champion.version),
            day,
        )
        model_predictions = scored.predictions.cache()  # the ratios, the rows served, their statistics
        try:
            calibration = DayCalibration.of(day_ratios(model_predictions), interval_band(champion))
            served = serve(model_predictions, calibration)
            lakehouse.replace_partition(served, PREDICTIONS, day)
            stats = day_stats(served).first()  # the rows just written, from the cache: one pass
        finally:
            model_predictions.unpersist()
        rejected, reasons = write_quarantine(lakehouse, scored.rejected, day)
    finally:
        todays.unpersist()
    assert stats is not None  # an aggregate without grouping has one row
    rows = stats_rows(day, snapshot, str(champion.version), stats.asDict(), rejected)
    lakehouse.replace_partition_records(rows, DRIFT_METRICS, day, [("report", "=", PREDICTION_STATS_REPORT)])
    for reason in reasons:
        context.log.warning(f"not scored: {reason}")
    n_scored = int(stats["rows_scored"])
    return dg.MaterializeResult(
        metadata={
            **table_metadata(lakehouse, PREDICTIONS),
            "snapshot_scored": str(snapshot),
            "rows_scored": n_scored,
            "rows_quarantined": rejected,
            "mean_prediction": round(float(stats["mean_predicted"] or 0), 2),
            "median_prediction": round(float(stats["median_predicted"] or 0), 2),
            "level_source": calibration.source,
            **{
                name: round(float(stats[name]), 4)
                for name in ("market_level", "coverage_80")
                if stats[name] is not None  # none without priced rows (or without a band)
            },
            "model_version": str(champion.version),
            "model_uri": f"models:/{mlflow.model_name}/{champion.version}",
            "missing_features": ", ".join(scored.missing) or "none",
            "ignored_columns": ", ".join(scored.extra) or "none",
        },
        check_results=_checks(scored.missing, inputs, n_scored, rejected),
    )


def scored_rows(lakehouse: LakehouseResource) -> int:
    """Rows ``gold/price_predictions`` holds (from its Delta log; 0 before the first scored day)."""
    facts = lakehouse.facts(PREDICTIONS)
    return int(facts.rows or 0) if facts is not None else 0


def _checks(missing: list[str], inputs: int, scored: int, rejected: int) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=CONTRACT_CHECK,
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"missing_features": ", ".join(missing) or "none"},
        ),
        dg.AssetCheckResult(
            check_name=SCORED_CHECK,
            passed=inputs == scored + rejected,
            metadata={"input_rows": inputs, "scored": scored, "quarantined": rejected},
        ),
    ]


def write_quarantine(
    lakehouse: LakehouseResource, rejected: DataFrame, day: dt.date
) -> tuple[int, list[str]]:
    """Replace ``day``'s rows of the predictions quarantine with ``rejected``; their count and first reasons.

    The rows are counted (one job on the cached day), not read back from the commit: Delta commits
    nothing for an empty overwrite of an empty partition, so the table's last commit may be an
    earlier day's. Nothing is written when nothing was rejected and the table exists with no row
    of ``day`` (the usual day); a rerun of a day that had rejects clears them.
    """
    count = rejected.count()
    if count == 0 and lakehouse.exists(PREDICTIONS_QUARANTINE):
        if not lakehouse.grouped_counts(PREDICTIONS_QUARANTINE, "run_date", [("run_date", "=", day)]):
            return 0, []
    lakehouse.replace_partition(rejected, PREDICTIONS_QUARANTINE, day)
    reasons = [r[0] for r in rejected.select("reason").limit(5).collect()] if count else []
    return count, reasons
