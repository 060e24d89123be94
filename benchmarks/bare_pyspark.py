"""The floor: one day through plain PySpark + delta-spark, with no Dagster, MLflow or Evidently.

``python -m benchmarks.bare_pyspark --root ENV_ROOT --csv FILE --model MODEL.pkl --date D`` does the
work of the daily job's data path for one landed file, on the same lakehouse layout
(``<root>/<schema>/<table>``): read the CSV into bronze, type it (silver parsing), rank duplicates
against silver's keys of the snapshot, apply the same expectations, append silver and its
quarantine, replace gold's rows of the snapshot, score them with the champion's scikit-learn
pipeline (a pandas UDF; the model is broadcast once) and replace the day's predictions.

It is kept honest so that the ratio "daily job / this script" measures the product's overhead:

* the same Spark session: :func:`airbnb_assets.platform.session.get_or_create_session`, the
  Dagster-free builder the product's ``SparkResource`` calls (same ``LOCAL_CONF``, ``local[2]``);
* the same data and the same starting state (the runner copies one prepared lakehouse for both);
* the product's own pure transforms (file probe, bronze reader, silver parsing and expectations,
  gold features, feature contract), so no rule is skipped;
* the same Delta writes (append with ``mergeSchema``, ``replaceWhere`` of the snapshot and the day).

What it leaves out is what the product adds around the data path: Dagster (events, checks, the
run's storage), streaming checkpoints and the landing ledger, re-delivery and hold handling, the
MLflow registry look-up, drift (Evidently), retraining and the dashboard. At import time it loads
none of ``dagster``, ``mlflow`` or ``evidently`` (a smoke test asserts it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from airbnb_assets.gold.features import KEYS, TARGET, build_features
from airbnb_assets.ingest.bronze import read_landed_file
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.ml.calibration import RATIO, DayCalibration, day_ratios, ratio_column, served_columns
from airbnb_assets.ml.contract import CONTRACT, conform
from airbnb_assets.platform.session import get_or_create_session
from airbnb_assets.silver.parse import parse_bronze
from airbnb_assets.silver.quality import KEY, evaluate, rank_duplicates, split

#: The tables it writes, as ``<schema>/<table>`` under the root (the product's table catalogue).
TABLES = {
    "bronze": "bronze/listings",
    "silver": "silver/listings",
    "quarantine": "silver/listings_quarantine",
    "gold": "gold/listing_features",
    "predictions": "gold/price_predictions",
    "rejected": "gold/price_predictions_quarantine",
}


def session(root: str) -> SparkSession:
    """The product's local session (same builder and settings), with its files under ``root/_spark``."""
    return get_or_create_session("local[2]", f"{root}/_spark", jvm_log=f"{root}/_spark/jvm.log")


def _exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, path))


def _append(df: DataFrame, path: str, partition_by: str | None = None) -> None:
    writer = df.write.format("delta").mode("append").option("mergeSchema", "true")
    (writer.partitionBy(partition_by) if partition_by else writer).save(path)


def _replace(df: DataFrame, path: str, condition: str, partition_by: str | None = None) -> None:
    writer = df.write.format("delta").mode("overwrite").option("mergeSchema", "true")
    writer = writer.option("replaceWhere", condition)
    (writer.partitionBy(partition_by) if partition_by else writer).save(path)


def load_model(path: Path) -> Any:
    """The champion's scikit-learn pipeline, exported once by the suite's setup (a pickle file)."""
    return pickle.loads(path.read_bytes())  # noqa: S301 - the suite's own export


def score(spark: SparkSession, features: DataFrame, model_path: Path) -> tuple[DataFrame, DataFrame]:
    """Conform ``features`` to the contract and predict with a pandas UDF; (scored rows, rejected rows).

    The model file's bytes are broadcast once; each Python task unpickles them once (an iterator
    UDF), as the product's :func:`airbnb_assets.ml.scoring.model_udf` does.
    """
    conformed = conform(features)
    shipped = spark.sparkContext.broadcast(model_path.read_bytes())
    names = [c.name for c in CONTRACT]

    @F.pandas_udf("double")  # type: ignore[call-overload]
    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.Series]:
        pipeline = pickle.loads(shipped.value)  # noqa: S301 - the suite's own export
        for batch in batches:
            yield pd.Series(pipeline.predict(batch[names]), dtype="float64")

    scored = conformed.rows.select(
        *KEYS,
        predict(F.struct(*[F.col(n) for n in names])).alias("model_prediction"),
        F.col(TARGET).alias("actual_price"),
    ).withColumn(RATIO, ratio_column())
    return scored, conformed.rejected


def run_day(spark: SparkSession, root: str, csv: Path, model_path: Path, day: dt.date) -> dict[str, float]:
    """Process one landed file end to end; return the seconds of each stage and the rows written."""
    paths = {name: f"{root.rstrip('/')}/{table}" for name, table in TABLES.items()}
    times: dict[str, float] = {}
    start = last = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times[stage] = now - last
        last = now

    probe = probe_file(str(csv.resolve()))
    _append(read_landed_file(spark, probe), paths["bronze"])
    lap("bronze")
    bronze = spark.read.format("delta").load(paths["bronze"]).filter(F.col("_source_file") == probe.path)
    parsed = parse_bronze(bronze)
    snapshot = F.col("snapshot_date") == F.lit(probe.snapshot_date)
    known = (
        spark.read.format("delta").load(paths["silver"]).filter(snapshot).select(*KEY)
        if _exists(spark, paths["silver"])
        else None
    )
    evaluated = evaluate(rank_duplicates(parsed, known)).withColumn("_processed_at", F.current_timestamp())
    outcome = split(evaluated)
    _append(outcome.quarantine, paths["quarantine"])
    _append(outcome.valid.withColumn("_batch", F.lit(f"bare:{probe.name}")), paths["silver"])
    lap("silver")
    silver = spark.read.format("delta").load(paths["silver"]).filter(snapshot)
    condition = f"snapshot_date = DATE'{probe.snapshot_date}'"
    if _exists(spark, paths["gold"]):
        _replace(build_features(silver), paths["gold"], condition)
    else:
        _append(build_features(silver), paths["gold"])
    lap("gold")
    gold = spark.read.format("delta").load(paths["gold"]).filter(snapshot)
    scored, rejected = score(spark, gold, model_path)
    stamp = [
        F.lit("bare").alias("model_name"),
        F.lit("exported").alias("model_version"),
        F.lit(day).cast("date").alias("run_date"),
    ]
    day_condition = f"run_date = DATE'{day}'"
    model_predictions = scored.select("*", *stamp).cache()  # the day's ratios, then the served rows
    calibration = DayCalibration.of(day_ratios(model_predictions), None)
    served = model_predictions.select(
        *KEYS, *served_columns(calibration), "actual_price", *stamp, F.current_timestamp().alias("scored_at")
    )
    _replace(served, paths["predictions"], day_condition, "run_date")
    model_predictions.unpersist()
    _replace(rejected.select("*", *stamp), paths["rejected"], day_condition, "run_date")
    lap("predictions")
    times["total"] = time.perf_counter() - start
    return times


def main(argv: list[str] | None = None) -> None:
    """Run one day and print ``{"stages": {...seconds}}`` as the last line (JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the environment root (<lakehouse>/dev)")
    parser.add_argument("--csv", type=Path, required=True, help="the day's snapshot file")
    parser.add_argument("--model", type=Path, required=True, help="the exported champion (pickle)")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True, help="the run date")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    spark = session(args.root)
    startup = time.perf_counter() - started
    stages = run_day(spark, args.root, args.csv, args.model, args.date)
    print(json.dumps({"stages": {"spark_start": startup, **stages}}))


if __name__ == "__main__":
    main()
