"""Scoring in Spark with ``mlflow.pyfunc.spark_udf``: the same code scales on a cluster.

The input is conformed to the feature contract first (types cast, extras ignored, missing columns
null, uncastable rows set aside), so the model's signature is always satisfied. :func:`score` gives
the model's own predictions; :func:`serve` moves them to the day's market and adds the 80 %
interval (:mod:`airbnb_assets.ml.calibration`), from the day's log(price / prediction) ratios
that :func:`day_ratios` collects (one column of doubles: 8 MB per million rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pyspark.sql import functions as F

from airbnb_assets.gold.features import KEYS, TARGET
from airbnb_assets.ml.calibration import DayCalibration
from airbnb_assets.ml.contract import CONTRACT, conform
from airbnb_assets.platform.tables import PREDICTIONS_QUARANTINE_SCHEMA, PREDICTIONS_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Column of :attr:`Scored.predictions`: log(price / model prediction), null when unpriced.
RATIO = "_ratio"


@dataclass(frozen=True)
class Scored:
    """The model's predictions, the rows that could not be scored (with reasons), and contract gaps.

    ``predictions`` has the keys, ``model_prediction``, ``actual_price``, the stamp columns and
    ``_ratio`` (log(price / model prediction), null when unpriced); :func:`serve` finishes it.
    """

    predictions: DataFrame
    rejected: DataFrame
    missing: list[str]
    extra: list[str]


def score(
    spark: SparkSession,
    features: DataFrame,
    model_uri: str,
    model_name: str,
    model_version: str,
    run_date: dt.date,
) -> Scored:
    """The registered model's price for every conformable row of ``features`` (before :func:`serve`)."""
    import mlflow

    conformed = conform(features)
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, result_type="double", env_manager="local")
    stamp = [
        F.lit(model_name).alias("model_name"),
        F.lit(str(model_version)).alias("model_version"),
        F.lit(run_date).cast("date").alias("run_date"),
    ]
    predicted = predict(F.struct(*[F.col(c.name) for c in CONTRACT]))
    predictions = conformed.rows.select(
        *KEYS, predicted.alias("model_prediction"), F.col(TARGET).alias("actual_price"), *stamp
    ).withColumn(
        RATIO,
        F.when(F.col("actual_price") > 0, F.log(F.col("actual_price") / F.col("model_prediction"))),
    )
    rejected = conformed.rejected.select(*KEYS, "reason", "record", *stamp).select(
        *[F.col(f.name).cast(f.dataType) for f in PREDICTIONS_QUARANTINE_SCHEMA.fields]
    )
    return Scored(predictions, rejected, conformed.missing, conformed.extra)


def day_ratios(predictions: DataFrame) -> np.ndarray:
    """The priced rows' log(price / model prediction) of :attr:`Scored.predictions`, on the driver."""
    row = predictions.agg(F.collect_list(RATIO).alias("ratios")).first()  # nulls are left out
    return np.asarray(row["ratios"] if row is not None else [], dtype="float64")


def serve(predictions: DataFrame, calibration: DayCalibration) -> DataFrame:
    """What ``gold/price_predictions`` holds: the served prediction, its interval and the model's own."""
    low, level, high = calibration.columns(F.col(RATIO))
    model = F.col("model_prediction")
    served = predictions.select(
        *KEYS,
        (model * F.exp(level)).alias("prediction"),
        (model * F.exp(low)).alias("prediction_p10"),
        (model * F.exp(high)).alias("prediction_p90"),
        model.alias("model_prediction"),
        F.lit(calibration.source).alias("level_source"),
        "actual_price",
        "model_name",
        "model_version",
        "run_date",
        F.current_timestamp().alias("scored_at"),
    )
    return served.select(*[F.col(f.name).cast(f.dataType) for f in PREDICTIONS_SCHEMA.fields])
