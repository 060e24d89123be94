"""Scoring in Spark with ``mlflow.pyfunc.spark_udf``: the same code scales on a cluster.

The input is conformed to the feature contract first (types cast, extras ignored, missing columns
null, uncastable rows set aside), so the model's signature is always satisfied.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from airbnb_assets.gold.features import KEYS, TARGET
from airbnb_assets.ml.contract import CONTRACT, conform

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def _field(name: str, dtype: T.DataType, comment: str) -> T.StructField:
    return T.StructField(name, dtype, True, {"comment": comment})


#: Columns of ``gold/price_predictions`` (partitioned by ``run_date``).
PREDICTIONS_SCHEMA = T.StructType(
    [
        _field("listing_id", T.LongType(), "Listing id."),
        _field("snapshot_date", T.DateType(), "Snapshot the features come from (latest up to the run date)."),
        _field("prediction", T.DoubleType(), "Predicted nightly price in USD."),
        _field("actual_price", T.DoubleType(), "Listed price when the arrival has one, else null."),
        _field("model_name", T.StringType(), "Registered model name."),
        _field("model_version", T.StringType(), "Registered model version (the champion of that run)."),
        _field("run_date", T.DateType(), "Partition: the day the prediction was made for."),
        _field("scored_at", T.TimestampType(), "When the row was scored."),
    ]
)


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
    rejected = conformed.rejected.select(*KEYS, "reason", "record", *stamp)
    return Scored(predictions, rejected, conformed.missing, conformed.extra)
