"""Build the local driver's class archive (:mod:`airbnb_assets.platform.class_archive`; ``make setup``).

``python -m airbnb_assets.spark_archive`` dumps the classes one JVM loads while it runs
:func:`workload` (about a minute, once per machine and environment); it returns at once when the
archive exists. On a machine where no session started yet, its start first resolves Delta's jars
(a download from Maven Central), so ``make setup`` also fetches them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from airbnb_assets.platform.class_archive import ARCHIVE_DIR, QUIET, archive_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def workload(spark: SparkSession, folder: str) -> None:
    """What the archive is dumped from: the product's kinds of Spark work on a packaged snapshot.

    Bronze, silver and gold's transforms on the oldest real snapshot, Delta appends with schema
    merge, a ``replaceWhere``, a MERGE, an OPTIMIZE, the history, a Delta and a file stream
    (``availableNow``), grouped statistics, Arrow both ways and a pandas UDF.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    from airbnb_assets.environments.settings import SNAPSHOTS_DIR
    from airbnb_assets.gold.features import build_features
    from airbnb_assets.ingest.bronze import read_landed_file
    from airbnb_assets.ingest.files import probe_file
    from airbnb_assets.ingest.reader import landed_files, landed_files_stream
    from airbnb_assets.silver.parse import parse_bronze
    from airbnb_assets.silver.quality import evaluate, rank_duplicates, split

    snapshot = sorted(SNAPSHOTS_DIR.glob("listings_*.csv.gz"))[0]
    bronze = read_landed_file(spark, probe_file(str(snapshot)))
    table, gold = os.path.join(folder, "bronze"), os.path.join(folder, "gold")
    bronze.write.format("delta").mode("append").option("mergeSchema", "true").save(table)
    outcome = split(evaluate(rank_duplicates(parse_bronze(spark.read.format("delta").load(table)))))
    outcome.counts.collect()
    outcome.quarantine.write.format("delta").mode("append").save(os.path.join(folder, "quarantine"))
    features = build_features(outcome.valid)
    features.write.format("delta").partitionBy("snapshot_date").save(gold)
    day = features.select(F.max("snapshot_date")).first()[0]  # type: ignore[index]
    features.write.format("delta").mode("overwrite").option("replaceWhere", f"snapshot_date = '{day}'").save(
        gold
    )
    spark.sql(
        f"MERGE INTO delta.`{gold}` t USING delta.`{gold}` s "
        "ON t.listing_id = s.listing_id AND t.snapshot_date = s.snapshot_date "
        "WHEN MATCHED THEN UPDATE SET *"
    )
    spark.sql(f"OPTIMIZE delta.`{table}`").collect()
    spark.sql(f"DESCRIBE HISTORY delta.`{gold}`").collect()
    sink = os.path.join(folder, "stream")
    (
        spark.readStream.format("delta")
        .load(table)
        .writeStream.trigger(availableNow=True)
        .option("checkpointLocation", os.path.join(folder, "checkpoint-delta"))
        .foreachBatch(lambda batch, _: batch.write.format("delta").mode("append").save(sink))
        .start()
        .awaitTermination()
    )

    def collect(batch: DataFrame, _: int) -> None:
        batch.collect()

    files = landed_files_stream(spark, str(SNAPSHOTS_DIR))
    (
        files.writeStream.trigger(availableNow=True)
        .option("checkpointLocation", os.path.join(folder, "checkpoint-files"))
        .foreachBatch(collect)
        .start()
        .awaitTermination()
    )
    landed_files(spark, str(SNAPSHOTS_DIR))
    frame = spark.read.format("delta").load(gold)
    frame.groupBy("snapshot_date").agg(
        F.count(F.lit(1)), F.expr("percentile(price, 0.5)"), F.avg("price")
    ).collect()
    sample = frame.limit(500).toPandas()
    spark.createDataFrame(sample).mapInPandas(
        lambda batches: (pd.DataFrame({"n": [len(b)]}) for b in batches), "n long"
    ).collect()


def build() -> Path | None:
    """Dump the archive of this environment's session if it is missing; return its path (``None``: no Java).

    One JVM runs :func:`workload` with ``-XX:ArchiveClassesAtExit`` and writes the archive as it
    exits. On a machine where no session started yet, that start first resolves Delta's jars
    (Spark's Ivy resolver, a download from Maven Central), so the archive's key is known after it.
    """
    from airbnb_assets.platform.session import (
        DEFAULT_IVY_DIR,
        DEFAULT_JARS_DIR,
        get_or_create_session,
        local_jars,
        running_session,
    )

    jars = local_jars(DEFAULT_JARS_DIR, DEFAULT_IVY_DIR)
    path = archive_path(jars) if jars else None
    if (jars and path is None) or (path is not None and path.exists()):
        return path
    if running_session() is not None:  # its JVM started without the dump option, and would be stopped
        raise RuntimeError("a Spark session runs in this process: python -m airbnb_assets.spark_archive")
    ARCHIVE_DIR.mkdir(parents=True, exist_ok=True)
    partial = ARCHIVE_DIR / f"classes.{os.getpid()}.partial"
    folder = tempfile.mkdtemp(prefix="class-archive-")
    try:
        spark = get_or_create_session(
            local_dir=os.path.join(folder, "spark"),
            jvm_log=os.path.join(folder, "jvm.log"),
            extra_conf={"spark.driver.extraJavaOptions": f"-XX:ArchiveClassesAtExit={partial} {QUIET}"},
        )
        path = archive_path(local_jars(DEFAULT_JARS_DIR, DEFAULT_IVY_DIR))
        workload(spark, folder)
        process = spark.sparkContext._gateway.proc  # type: ignore[union-attr]  # noqa: SLF001
        spark.stop()
        # The gateway exits with its input: the JVM writes the archive, then ends. (The emulator's
        # runtime dumps its own the same way, in a script: its cluster cannot import this package.)
        process.stdin.close()
        process.wait()
        if path is None or not partial.exists():
            raise RuntimeError(f"the JVM wrote no class archive; its output was in {folder}/jvm.log")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    return path


def main() -> None:
    """``python -m airbnb_assets.spark_archive``: build the archive once (``make setup``)."""
    start = time.monotonic()
    path = build()
    if path is None:
        print("spark: no class archive (no java found)", file=sys.stderr)
    elif time.monotonic() - start > 1:
        size = path.stat().st_size / 1e6
        print(f"spark: class archive {path} ({size:.0f} MB, {time.monotonic() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
