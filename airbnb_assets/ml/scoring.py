"""Scoring in Spark with ``mlflow.pyfunc.spark_udf``: the same code scales on a cluster.

The input is conformed to the feature contract first (types cast, extras ignored, missing columns
null, uncastable rows set aside), so the model's signature is always satisfied.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from airbnb_assets.gold.features import KEYS, TARGET
from airbnb_assets.ml.contract import CONTRACT, conform
from airbnb_assets.platform.tables import PREDICTIONS_QUARANTINE_SCHEMA, PREDICTIONS_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Scored:
    """Predictions, the rows that could not be scored (with reasons), and contract gaps."""

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
    """Predict a price for every conformable row of ``features`` with a registered model."""
    import mlflow

    conformed = conform(features)
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, result_type="double", env_manager="local")
    stamp = [
        F.lit(model_name).alias("model_name"),
        F.lit(str(model_version)).alias("model_version"),
        F.lit(run_date).cast("date").alias("run_date"),
    ]
    predictions = conformed.rows.select(
        *KEYS,
        predict(F.struct(*[F.col(c.name) for c in CONTRACT])).alias("prediction"),
        F.col(TARGET).alias("actual_price"),
        *stamp,
        F.current_timestamp().alias("scored_at"),
    ).select(*[F.col(f.name).cast(f.dataType) for f in PREDICTIONS_SCHEMA.fields])
    rejected = conformed.rejected.select(*KEYS, "reason", "record", *stamp).select(
        *[F.col(f.name).cast(f.dataType) for f in PREDICTIONS_QUARANTINE_SCHEMA.fields]
    )
    return Scored(predictions, rejected, conformed.missing, conformed.extra)
