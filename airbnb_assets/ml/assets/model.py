"""The model asset: retrain after the day was scored and judged, gate out of time, refit the winner.

The daily order (``docs/architecture.rst``, "Data flow and the daily order"): the day's listings
are scored by the model serving that day (:mod:`airbnb_assets.ml.assets.predictions`), the drift report
judges it, and only then may ``ml/price_model`` retrain; what it promotes serves from the next
day. The policy is :mod:`airbnb_assets.ml.promotion`; MLflow I/O is :mod:`airbnb_assets.ml.registry`.
"""

import datetime as dt
from contextlib import nullcontext
from typing import Any

import dagster as dg
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from airbnb_assets.gold.features import KEYS, MAX_MISSING_SHARE, TARGET
from airbnb_assets.ml.assets.predictions import scored_rows
from airbnb_assets.ml.contract import CATEGORICAL, CONTRACT, NUMERIC, missing_required
from airbnb_assets.ml.promotion import PROMOTION_TOLERANCE, decide, label_shift
from airbnb_assets.ml.reference import store_reference
from airbnb_assets.ml.serving import (
    check_registry,
    held_snapshots,
    last_evaluated,
    load_model,
    own_mae,
    serving_version,
)
from airbnb_assets.partitions import partition_day
from airbnb_assets.platform.declare import asset_spec, spark_asset
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.sampling import sample_to_pandas
from airbnb_assets.platform.snapshots import candidate_dates, latest_snapshot
from airbnb_assets.platform.tables import DRIFT_REPORT_KEY, GOLD, MODEL_KEY
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.resources.monitoring import MonitoringResource

TRAINING_CONTRACT_CHECK = "training_contract_complete"


class PriceModelConfig(dg.Config):
    """Run configuration of the model asset."""

    force_retrain: bool = False
    promotion_tolerance: float = PROMOTION_TOLERANCE
    max_training_rows: int = 100_000
    #: The refit on every row is fitted beside the challenger (``train.background_fit``) while the
    #: training rows are at most this many; above, after it: two fits at once hold twice the memory.
    background_refit_max_rows: int = 50_000
    training_snapshots: int = 12
    max_missing_share: float = MAX_MISSING_SHARE


def labelled_until(
    gold: DataFrame, day: dt.date, since: dt.date | None = None, held: list[str] | None = None
) -> DataFrame:
    """Gold rows with a price, from snapshots up to ``day`` (from ``since`` on, if given; never ``held``)."""
    condition = (F.col("snapshot_date") <= F.lit(day)) & F.col(TARGET).isNotNull()
    if since is not None:
        condition = condition & (F.col("snapshot_date") >= F.lit(since))
    if held:
        condition = condition & ~F.col("snapshot_date").isin([dt.date.fromisoformat(d) for d in held])
    return gold.filter(condition)


def window_start(lakehouse: LakehouseResource, day: dt.date, snapshots: int) -> dt.date | None:
    """The oldest of the newest ``snapshots`` snapshot dates up to ``day`` in the ledger.

    ``None`` when the ledger holds no more dates than that (the whole history is the window).
    Reading only the window's snapshots (Delta skips the older files by their statistics) keeps
    the training read bounded however long the history grows.
    """
    if snapshots < 2:
        raise ValueError(f"training_snapshots must be at least 2 (fit and evaluate), got {snapshots}")
    dates = candidate_dates(lakehouse, day) or []
    return dates[snapshots - 1] if len(dates) > snapshots else None


def latest_labelled(lakehouse: LakehouseResource, gold: DataFrame, day: dt.date) -> dt.date | None:
    """The newest snapshot up to ``day`` with a priced gold row (bounded lookup via the ledger)."""
    return latest_snapshot(lakehouse, gold, day, where=F.col(TARGET).isNotNull())


def training_rows(labelled: DataFrame, max_rows: int, total: int | None = None) -> pd.DataFrame:
    """The contract columns of the labelled rows as pandas, sampled (fixed seed) above ``max_rows``.

    ``total`` bounds the labelled rows from above without a scan (gold's row count from the Delta
    log): all rows are taken when it is at most ``max_rows``
    (:func:`~airbnb_assets.platform.sampling.sample_to_pandas`).
    """
    return sample_to_pandas(
        labelled.select(*KEYS, *[c.name for c in CONTRACT], TARGET), max_rows, seed=42, total=total
    )


def _contract_check(missing: list[str], evaluated_on: Any, share: float) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=TRAINING_CONTRACT_CHECK,
        asset_key=MODEL_KEY,
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "missing_features": ", ".join(missing) or "none",
            "snapshot": str(evaluated_on or "none"),
            "max_missing_share": share,
        },
    )


@spark_asset(
    asset_spec(
        MODEL_KEY,
        "ml",
        "Retrains after the day was scored and judged: a challenger trained on the snapshots before "
        "the latest labelled one is compared out of time with the serving champion; a winner is "
        "refit on every labelled row of the training window and serves from the next day.",
        kinds={"scikitlearn", "mlflow"},
        deps=[GOLD.key, DRIFT_REPORT_KEY],
    ),
    checks=[
        dg.AssetCheckSpec(
            TRAINING_CONTRACT_CHECK,
            asset=MODEL_KEY,
            description="The latest labelled snapshot has every required feature (else no promotion).",
        )
    ],
)
def price_model(
    context: dg.AssetExecutionContext,
    config: PriceModelConfig,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
    monitoring: MonitoringResource,
) -> dg.MaterializeResult:
    """Retrain when due (a new labelled snapshot, or forced), gate out of time, refit the winner."""
    # scikit-learn and MLflow load in this step, not with the code location (test_definitions).
    from airbnb_assets.ml.registry import recover_interrupted, register_retrain
    from airbnb_assets.ml.train import background_fit, served_predictions, train

    client = mlflow.activate()
    for line in recover_interrupted(client, mlflow.model_name):  # a retrain killed mid-registration
        context.log.warning(line)
    day = partition_day(context)
    base: dict[str, Any] = {
        "model_name": mlflow.model_name,
        "tracking_uri": dg.MetadataValue.text(mlflow.tracking_uri),
    }
    gold = lakehouse.read_or_none(GOLD)
    latest = latest_labelled(lakehouse, gold, day) if gold is not None else None
    if gold is None or latest is None:
        return dg.MaterializeResult(
            metadata={**base, "retrained": False, "reason": "no labelled rows yet"},
            check_results=[_contract_check([], None, config.max_missing_share)],
        )
    evaluated = last_evaluated(client, mlflow.model_name)
    if evaluated is None:  # never retrained, or a lost registry: only the former may start a v1
        check_registry(client, mlflow.model_name, scored_rows(lakehouse), mlflow.tracking_uri)
    if not (config.force_retrain or evaluated is None or latest > evaluated):
        return dg.MaterializeResult(
            metadata={
                **base,
                "retrained": False,
                "reason": f"no new labelled snapshot (latest {latest} was evaluated already)",
            },
            check_results=[_contract_check([], latest, config.max_missing_share)],
        )
    since = window_start(lakehouse, day, config.training_snapshots)
    held = held_snapshots(client, mlflow.model_name)  # labels that jumped: never trained on
    # Gold's row count (from its log) bounds the window's rows only when the window is the whole
    # history; a cut window is counted (its files only) so the sample's fraction is exact.
    total = lakehouse.row_count(GOLD) if since is None and not held else None
    rows = training_rows(labelled_until(gold, day, since, held), config.max_training_rows, total=total)
    beside = len(rows) <= config.background_refit_max_rows  # else refit after the challenger
    with background_fit(rows) if beside else nullcontext(None) as refit:  # used only if promoted
        result = train(rows)  # challenger: trained before `latest`, evaluated on `latest`
        champion = serving_version(client, mlflow.model_name, before=latest)
        champion_mae = None
        if champion is not None:
            predicted = served_predictions(
                load_model(mlflow.model_name, str(champion.version)), result.validation
            )
            champion_mae = float(abs(predicted - result.validation[TARGET].to_numpy()).mean())
        latest_rows = rows[rows.snapshot_date == latest]
        missing = missing_required(latest_rows, config.max_missing_share)
        jump = label_shift(
            rows.loc[rows.snapshot_date != latest, TARGET].to_numpy(), latest_rows[TARGET].to_numpy()
        )
        decision = decide(
            result.metrics["mae"],
            champion_mae,
            str(champion.version) if champion is not None else None,
            missing,
            config.promotion_tolerance,
            label_jump=jump,
            champion_own_mae=own_mae(champion) if champion is not None else None,
        )
        reg = register_retrain(
            client,
            mlflow.model_name,
            rows,
            result,
            decision,
            evaluated_on=latest,
            run_date=context.partition_key,
            refit=refit,
        )
    (context.log.info if reg.promoted else context.log.warning)(reg.decision)
    fitted = rows if decision.promote else rows[rows.snapshot_date.astype(str).isin(result.train_snapshots)]
    reference = store_reference(
        lakehouse,
        mlflow.model_name,
        str(reg.version),
        fitted,
        [*NUMERIC, *CATEGORICAL],
        monitoring.max_rows,
        monitoring.seed,
    )
    return dg.MaterializeResult(
        metadata={
            **base,
            "retrained": True,
            "model_version": reg.version,
            "model_uri": reg.model_uri,
            "mlflow_run_id": reg.run_id,
            "promoted": reg.promoted,
            "promotion": reg.decision,
            "refit_on_all_rows": decision.promote,
            "refit_beside_challenger": beside,
            "trained_through": str(latest) if decision.promote else result.train_snapshots[-1],
            "evaluated_on": str(latest),
            "validation": result.scheme,
            "training_rows": len(rows) if decision.promote else result.n_train,  # rows in the fit
            "champion_compared": str(champion.version) if champion is not None else "none",
            "held_from_training": ", ".join(held) or "none",
            "drift_reference": reference,
            **({"champion_val_mae": round(champion_mae, 4)} if champion_mae is not None else {}),
            **{f"val_{k}": round(v, 4) for k, v in result.metrics.items()},
            "val_model_mae": round(result.model_mae, 4),
            "interval_log_band": f"{result.band[0]:.4f} .. {result.band[1]:.4f}",
            **{f"baseline_{k}": round(v, 4) for k, v in result.baseline_metrics.items()},
        },
        check_results=[_contract_check(missing, latest, config.max_missing_share)],
    )
