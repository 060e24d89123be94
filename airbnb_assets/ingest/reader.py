"""How bronze reads the landing zone: Databricks Auto Loader, or its local emulation.

:func:`landing_reader` is the one place that chooses. On Databricks (``platform="databricks"``) it
returns the real ``cloudFiles`` stream over the landing volume (``/Volumes/...`` or ``abfss://...``)
with the options of :func:`cloudfiles_options`: every file parsed by Auto Loader into string
columns, with bronze's provenance columns. Locally it returns the emulation's stream of new file
*paths* (``binaryFile``, content not read), which
:func:`~airbnb_assets.ingest.autoloader.ingest_files` probes and parses one by one. Both streams
run with ``trigger(availableNow=True)`` and a checkpoint, so each file is processed once.

:func:`landed_files` lists the landing zone through Spark (any file system Spark reads, including
empty files), so nothing here lists folders with local file APIs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from airbnb_assets.ingest.files import FILE_GLOB, clean_column_names

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Schema of Spark's ``binaryFile`` source (a stream needs it up front; ``content`` is not read).
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
#: Auto Loader's column for data it could not place (same name as the local emulation's).
RESCUED = "_rescued_data"
#: Schema evolution modes bronze accepts: new header columns become columns, or go to ``_rescued_data``.
EVOLUTION_MODES = ("addNewColumns", "rescue")
#: The snapshot date in a landed file name (``listings_2017-03-02.csv.gz``), for Spark.
_DATE_IN_NAME = r"^listings_(\d{4}-\d{2}-\d{2})"


def cloudfiles_options(schema_location: str, evolution: str = "addNewColumns") -> dict[str, str]:
    """The Auto Loader options with which bronze reads the landing volume on Databricks.

    CSV with a header, every column a string (no type inference: bronze keeps the text), the
    inferred schema and its evolutions kept at ``schema_location``, new header columns added
    (``addNewColumns``: the stream stops once and the next start has them) or rescued (``rescue``),
    data that fits no column in ``_rescued_data``, files already in the volume included on the
    first run, only snapshot names (``listings_*.csv*``). Quoting matches the local reader; the
    text is read as UTF-8 (see the docs' mapping for what the local probe does instead).
    """
    if evolution not in EVOLUTION_MODES:
        raise ValueError(f"schema evolution mode {evolution!r} is not one of {EVOLUTION_MODES}")
    return {
        "cloudFiles.format": "csv",
        "cloudFiles.schemaLocation": schema_location,
        "cloudFiles.schemaEvolutionMode": evolution,
        "cloudFiles.inferColumnTypes": "false",
        "cloudFiles.includeExistingFiles": "true",
        "header": "true",
        "multiLine": "true",
        "quote": '"',
        "escape": '"',
        "encoding": "UTF-8",
        "rescuedDataColumn": RESCUED,
        "pathGlobFilter": FILE_GLOB,
    }


def with_stream_provenance(parsed: DataFrame) -> DataFrame:
    """Clean the parsed columns' names and add bronze's provenance from Spark's ``_metadata`` column.

    ``_source_file`` is the file's full path, ``_snapshot_date`` the date in its name,
    ``_ingested_at`` the time of the batch; ``_rescued_data`` is Auto Loader's.
    """
    data = [c for c in parsed.columns if c != RESCUED]
    renamed = [F.col(f"`{c}`").alias(n) for c, n in zip(data, clean_column_names(data), strict=True)]
    return parsed.select(
        *renamed,
        F.col(RESCUED),
        F.col("_metadata.file_path").alias("_source_file"),
        F.to_date(F.regexp_extract(F.col("_metadata.file_name"), _DATE_IN_NAME, 1)).alias("_snapshot_date"),
        F.current_timestamp().alias("_ingested_at"),
    )


def cloudfiles_stream(spark: SparkSession, landing_path: str, schema_location: str) -> DataFrame:
    """Auto Loader's stream of the landing zone's rows, with provenance (Databricks only)."""
    options = cloudfiles_options(schema_location)
    return with_stream_provenance(spark.readStream.format("cloudFiles").options(**options).load(landing_path))


def landed_files_stream(spark: SparkSession, landing_path: str) -> DataFrame:
    """Stream of new file paths in the landing zone (``binaryFile`` source, content not read)."""
    return (
        spark.readStream.format("binaryFile")
        .schema(BINARY_FILE_SCHEMA)
        .option("pathGlobFilter", FILE_GLOB)
        .load(landing_path)
        .select("path")
    )


def landing_reader(platform: str, spark: SparkSession, landing_path: str, checkpoint: str) -> DataFrame:
    """The stream bronze reads: Auto Loader's parsed rows on Databricks, new file paths locally.

    ``checkpoint`` is the stream's checkpoint folder; Auto Loader keeps its schema in
    ``<checkpoint>/_schema``.
    """
    if platform == "databricks":
        return cloudfiles_stream(spark, landing_path, f"{checkpoint.rstrip('/')}/_schema")
    if platform != "local":
        raise ValueError(f"unknown platform {platform!r}: local or databricks")
    return landed_files_stream(spark, landing_path)


def _same_form(uri: str) -> str:
    """One spelling per file: Spark lists ``file:///x`` in one place and ``file:/x`` in another."""
    return re.sub(r"^file:/+", "file:/", uri)


def landed_files(spark: SparkSession, folder: str) -> dict[str, int]:
    """Every visible file in ``folder`` → its size, listed by Spark (hidden ``.x``/``_x`` names left out).

    Empty files are listed too: Spark's file sources list them but never read them, so they come
    from the listing (``inputFiles``) and the sizes of the others from ``binaryFile``'s ``length``.
    A missing folder has no files.
    """
    try:
        listing = spark.read.format("binaryFile").load(folder)
        every = [_same_form(p) for p in listing.inputFiles()]
    except Exception as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return {}
        raise
    sizes = {_same_form(r["path"]): int(r["length"]) for r in listing.select("path", "length").collect()}
    return {path: sizes.get(path, 0) for path in sorted(every)}
