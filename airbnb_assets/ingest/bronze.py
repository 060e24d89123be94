"""Bronze transforms: one landed file → bronze rows (all strings, provenance, rescued data).

Columns are mapped by each file's own header, never by position across files. A row whose field
count differs from its header keeps what could be placed, and its raw text goes to
``_rescued_data`` (as Auto Loader does) instead of being dropped or shifted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from airbnb_assets.ingest.files import FileProbe

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CORRUPT = "_corrupt_record"
SPARK_CHARSETS = {"UTF-8", "US-ASCII", "ISO-8859-1", "UTF-16", "UTF-16BE", "UTF-16LE", "UTF-32"}
#: Provenance columns added to every bronze row.
PROVENANCE = ("_source_file", "_snapshot_date", "_ingested_at", "_rescued_data")
#: The declared columns of ``bronze/listings`` (name, type, meaning): its provenance. The others are
#: the landed headers' columns, every one a string; each materialization reports them all.
PROVENANCE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_source_file", "string", "Landed file the row came from."),
    ("_snapshot_date", "date", "Scrape date of the file (from its name)."),
    ("_ingested_at", "timestamp", "When bronze ingested the file."),
    ("_rescued_data", "string", "Raw text of a row whose fields did not match its header, else null."),
)


def read_landed_file(spark: SparkSession, probe: FileProbe) -> DataFrame:
    """Parse one probed file into bronze rows: every header column as a string, plus provenance."""
    if probe.error or probe.snapshot_date is None:
        raise ValueError(f"{probe.name} cannot be read: {probe.error}")
    schema = T.StructType(
        [T.StructField(c, T.StringType(), True) for c in probe.columns]
        + [T.StructField(CORRUPT, T.StringType(), True)]
    )
    if probe.encoding.upper() not in SPARK_CHARSETS and not java_charsets_enabled(spark):
        # Spark 4 only accepts a few charsets unless Java's full list is enabled (Mac Roman); the
        # session enables it when it starts (``platform.spark.LOCAL_CONF``), never at run time.
        raise ValueError(
            f"{probe.name} is {probe.encoding}, which this Spark session cannot decode: start it with "
            "spark.sql.legacy.javaCharsets=true"
        )
    raw = (
        spark.read.format("csv")
        .schema(schema)
        .option("header", "true")
        .option("multiLine", "true")
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", probe.encoding)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .load(probe.path)
    )
    return with_provenance(raw, probe.path, probe.snapshot_date)


def java_charsets_enabled(spark: SparkSession) -> bool:
    """Whether the session decodes every Java charset (``spark.sql.legacy.javaCharsets``), read only."""
    return str(spark.conf.get("spark.sql.legacy.javaCharsets", "false")).lower() == "true"


def with_provenance(raw: DataFrame, source: str, snapshot_date: dt.date) -> DataFrame:
    """Add ``_source_file``, ``_snapshot_date``, ``_ingested_at`` and ``_rescued_data``."""
    rescued = F.when(
        F.col(CORRUPT).isNotNull(),
        F.to_json(F.struct(F.col(CORRUPT).alias("_raw_record"), F.lit(source).alias("_file_path"))),
    )
    return (
        raw.withColumn("_rescued_data", rescued)
        .drop(CORRUPT)
        .withColumn("_source_file", F.lit(source))
        .withColumn("_snapshot_date", F.lit(snapshot_date).cast("date"))
        .withColumn("_ingested_at", F.current_timestamp())
    )
