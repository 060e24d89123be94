"""The table catalogue: every lakehouse table, declared once.

A :class:`Table` has a logical name ``"<schema>/<table>"`` (for example ``"silver/listings"``), a
description, its key and partition columns and, when the platform owns its columns, its Spark
schema. Everything else is derived from it: the storage path or the Unity Catalog name
(:class:`~airbnb_assets.platform.lakehouse.LakehouseResource`), the Dagster asset key
(:attr:`Table.key`), the CLI's table list (:data:`TABLES`) and the docs' data dictionary.

Tables whose columns come from a domain declaration (bronze: the landed header; silver: the
column list of :mod:`airbnb_assets.silver.schema`; gold: :mod:`airbnb_assets.gold.features`) name
that declaration in ``columns_from`` instead of carrying a schema, so this module imports no
domain module. Non-table assets (the model, the drift report, the dashboard) have their keys here
too, so no module spells another module's asset key.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from pyspark.sql import types as T


def _col(name: str, dtype: T.DataType, comment: str, nullable: bool = True) -> T.StructField:
    return T.StructField(name, dtype, nullable, {"comment": comment})


@dataclass(frozen=True)
class Table:
    """One lakehouse table: its logical name and what is known about it before any write."""

    name: str
    description: str
    keys: tuple[str, ...] = ()
    partition_by: str | None = None
    schema: T.StructType | None = None
    columns_from: str = ""

    def __post_init__(self) -> None:
        parts = self.name.split("/")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"table names look like 'schema/table', got {self.name!r}")

    @property
    def schema_name(self) -> str:
        """The schema (layer) part: ``silver`` of ``silver/listings``."""
        return self.name.split("/")[0]

    @property
    def table_name(self) -> str:
        """The table part: ``listings`` of ``silver/listings``."""
        return self.name.split("/")[1]

    @property
    def key(self) -> dg.AssetKey:
        """The Dagster asset key of the table (``["silver", "listings"]``)."""
        return dg.AssetKey([self.schema_name, self.table_name])

    def __str__(self) -> str:
        return self.name


LEDGER_SCHEMA = T.StructType(
    [
        _col("file_path", T.StringType(), "Full path of the landed file.", False),
        _col("file_name", T.StringType(), "File name.", False),
        _col("snapshot_date", T.DateType(), "Snapshot date taken from the file name."),
        _col(
            "status",
            T.StringType(),
            "ingested | duplicate | failed | ignored (a name that is not a snapshot name); later rows of "
            "an ingested file: superseded (re-delivered) | released | rejected (held by a fail rule)",
            False,
        ),
        _col("reason", T.StringType(), "Why a file was not ingested."),
        _col("rows", T.LongType(), "Data rows written to bronze."),
        _col("columns", T.ArrayType(T.StringType()), "Header columns (cleaned)."),
        _col(
            "new_columns",
            T.ArrayType(T.StringType()),
            "Header columns no declared silver column takes (after header aliases): kept in bronze only.",
        ),
        _col(
            "missing_columns",
            T.ArrayType(T.StringType()),
            "Declared silver columns absent from the header (after aliases): null in silver for this file.",
        ),
        _col(
            "encoding",
            T.StringType(),
            "Text encoding (Java charset name) chosen from the bytes: UTF-16/32 by byte-order mark, strict "
            "UTF-8, else windows-1252 or x-MacRoman by evidence.",
        ),
        _col("size_bytes", T.LongType(), "File size."),
        _col("sha256", T.StringType(), "Content hash (a re-sent identical file is a duplicate)."),
        _col("run_date", T.StringType(), "Day of the run that saw the file."),
        _col("batch_id", T.LongType(), "Micro-batch of the file stream."),
        _col("recorded_at", T.TimestampType(), "When the ledger row was written.", False),
    ]
)

DATA_QUALITY_SCHEMA = T.StructType(
    [
        _col("run_id", T.StringType(), "Dagster run id."),
        _col("run_date", T.StringType(), "Day of the run."),
        _col("batch", T.StringType(), "Bronze micro-batch (stream id:batch id).", False),
        _col("snapshot_date", T.DateType(), "Snapshot the rows belong to."),
        _col("source_file", T.StringType(), "Landed file the rows came from (rules are judged per file)."),
        _col("rule", T.StringType(), "Expectation name.", False),
        _col("action", T.StringType(), "warn | drop | fail", False),
        _col("total_rows", T.LongType(), "Rows evaluated.", False),
        _col("failed_rows", T.LongType(), "Rows failing the rule.", False),
        _col("passed_rows", T.LongType(), "Rows passing the rule.", False),
        _col("quarantined_rows", T.LongType(), "Rows quarantined by this rule.", False),
        _col(
            "committed",
            T.BooleanType(),
            "Whether the file's rows were written (false: a fail rule held the file).",
            False,
        ),
        _col("evaluated_at", T.TimestampType(), "When the rule was evaluated.", False),
    ]
)

PREDICTIONS_SCHEMA = T.StructType(
    [
        _col("listing_id", T.LongType(), "Listing id."),
        _col("snapshot_date", T.DateType(), "Snapshot the features come from (latest up to the run date)."),
        _col(
            "prediction",
            T.DoubleType(),
            "Predicted nightly price in USD, served: the model's, moved to the day's market level "
            "(median of the other priced listings' price / model prediction; own price left out).",
        ),
        _col("prediction_p10", T.DoubleType(), "Low end of the 80 % interval (USD); null without a band."),
        _col("prediction_p90", T.DoubleType(), "High end of the 80 % interval (USD); null without a band."),
        _col(
            "model_prediction",
            T.DoubleType(),
            "The registered model's own prediction (USD), before the move.",
        ),
        _col(
            "level_source",
            T.StringType(),
            "snapshot: level and band from the day's other priced listings; training: too few priced "
            "rows, the model's own level and the version's out-of-time band.",
        ),
        _col("actual_price", T.DoubleType(), "Listed price when the arrival has one, else null."),
        _col("model_name", T.StringType(), "Registered model name."),
        _col("model_version", T.StringType(), "Registered model version that served the day."),
        _col("run_date", T.DateType(), "Partition: the day the prediction was made for."),
        _col("scored_at", T.TimestampType(), "When the row was scored."),
    ]
)

PREDICTIONS_QUARANTINE_SCHEMA = T.StructType(
    [
        _col("listing_id", T.LongType(), "Listing id."),
        _col("snapshot_date", T.DateType(), "Snapshot of the row."),
        _col("reason", T.StringType(), "Why the row could not be scored."),
        _col("record", T.StringType(), "The row as JSON."),
        _col("model_name", T.StringType(), "Registered model name."),
        _col("model_version", T.StringType(), "Registered model version that served the day."),
        _col("run_date", T.DateType(), "Partition: the day of the run."),
    ]
)

DRIFT_METRICS_SCHEMA = T.StructType(
    [
        _col("run_date", T.DateType(), "Day of the report (partition).", False),
        _col("snapshot_date", T.DateType(), "Snapshot compared (current)."),
        _col(
            "report",
            T.StringType(),
            "data | model | predictions (the day's prediction statistics, written with the predictions)",
            False,
        ),
        _col("column", T.StringType(), "Feature, prediction, or metric name.", False),
        _col("method", T.StringType(), "Drift method or metric."),
        _col("score", T.DoubleType(), "Drift score or current metric value."),
        _col("threshold", T.DoubleType(), "Threshold the score is held to."),
        _col("reference", T.DoubleType(), "Reference metric value (model)."),
        _col("drifted", T.BooleanType(), "Whether this row counts as drift."),
        _col("dataset_drift", T.BooleanType(), "Dataset verdict of the day."),
        _col("share_drifted", T.DoubleType(), "Share of drifted columns."),
        _col("model_version", T.StringType(), "Model version judged."),
        _col("report_path", T.StringType(), "HTML report of the day."),
    ]
)

#: ``report`` of the rows ``gold/price_predictions`` writes to ``monitoring/drift_metrics`` for its day:
#: the day's prediction statistics, one row per name of :data:`PREDICTION_STATISTICS` (value in ``score``).
PREDICTION_STATS_REPORT = "predictions"
#: The prediction statistics of a day → the ``method`` recorded with each.
PREDICTION_STATISTICS = {
    "rows_scored": "count",
    "rows_quarantined": "count",
    "mean_predicted": "mean",
    "median_predicted": "median",
    "mean_actual": "mean",
    "median_actual": "median",
    "median_p10": "median",
    "median_p90": "median",
    "coverage_80": "share of priced rows inside [p10, p90]",
    "market_level": "median price / model prediction",
}

BRONZE = Table(
    "bronze/listings",
    "Raw listing rows of every landed file: all columns as strings, provenance and rescued data. "
    "Grows with new columns; never shifts them.",
    keys=("_source_file",),
    columns_from="the landed header, every column a string, plus ``ingest.bronze.PROVENANCE``",
)
LANDING_FILES = Table(
    "ops/landing_files",
    "Ledger of every landed file seen: ingested, duplicate, failed or ignored (reason), with the "
    "header's new and missing columns.",
    keys=("file_path", "sha256"),
    schema=LEDGER_SCHEMA,
)
SILVER = Table(
    "silver/listings",
    "Typed, cleaned listings: one row per (id, snapshot_date).",
    keys=("id", "snapshot_date"),
    columns_from="``silver.schema.SILVER_COLUMNS`` + ``AUDIT_COLUMNS``",
)
SILVER_QUARANTINE = Table(
    "silver/listings_quarantine",
    "Rows dropped by an expectation (with the failed rule names), rows of files held by a fail rule "
    "(``_held``) and rows replaced by a re-delivery (``superseded by <file>``).",
    keys=("id", "snapshot_date"),
    columns_from="the silver columns plus ``_failed_rules``, ``_quarantine_reason``, ``_held`` and "
    "``_bronze_record``",
)
DATA_QUALITY = Table(
    "ops/data_quality",
    "Rows evaluated / failed per run, snapshot date, source file and rule.",
    keys=("batch", "snapshot_date", "source_file", "rule"),
    schema=DATA_QUALITY_SCHEMA,
)
GOLD = Table(
    "gold/listing_features",
    "Model-ready features per listing and snapshot (declared feature list) plus the nullable price target.",
    keys=("listing_id", "snapshot_date"),
    columns_from="``gold.features.FEATURES`` + ``KEYS`` + ``TARGET``",
)
PREDICTIONS = Table(
    "gold/price_predictions",
    "One predicted price per listing of the day's latest snapshot, by the model serving that day.",
    keys=("listing_id", "run_date"),
    partition_by="run_date",
    schema=PREDICTIONS_SCHEMA,
)
PREDICTIONS_QUARANTINE = Table(
    "gold/price_predictions_quarantine",
    "Rows of the day that could not be scored, with the reason.",
    keys=("listing_id", "run_date"),
    partition_by="run_date",
    schema=PREDICTIONS_QUARANTINE_SCHEMA,
)
DRIFT_METRICS = Table(
    "monitoring/drift_metrics",
    "Drift history: one row per run date, report and column or metric; and the day's prediction "
    "statistics (report ``predictions``: rows scored and quarantined, mean and median predicted and "
    "actual price), so the dashboard and the drift report never read every prediction.",
    keys=("run_date", "report", "column"),
    partition_by="run_date",
    schema=DRIFT_METRICS_SCHEMA,
)

#: Every table, in data-flow order (the CLI's list and the data dictionary).
TABLES: tuple[Table, ...] = (
    BRONZE,
    LANDING_FILES,
    SILVER,
    SILVER_QUARANTINE,
    DATA_QUALITY,
    GOLD,
    PREDICTIONS,
    PREDICTIONS_QUARANTINE,
    DRIFT_METRICS,
)

#: Asset keys of the assets that are not tables.
MODEL_KEY = dg.AssetKey(["ml", "price_model"])
DRIFT_REPORT_KEY = dg.AssetKey(["monitoring", "drift_report"])
DASHBOARD_KEY = dg.AssetKey(["monitoring", "dashboard"])


def by_name(name: str) -> Table:
    """The catalogued table called ``name`` (``"silver/listings"``); a clear error otherwise."""
    for table in TABLES:
        if table.name == name:
            return table
    known = ", ".join(t.name for t in TABLES)
    raise KeyError(f"no table {name!r}; the catalogue has: {known}")
