"""Evaluate expectations on parsed rows and split them into silver, quarantine and counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from airbnb_assets.silver.expectations import EXPECTATIONS, Expectation, by_action

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEY = ("id", "snapshot_date")


class ExpectationFailed(Exception):
    """A ``fail`` expectation was violated; nothing of the batch was committed.

    ``records`` holds the batch's data-quality counts, so callers can still report them.
    """

    def __init__(self, message: str, records: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.records = records or []


@dataclass(frozen=True)
class Split:
    """The outcome of evaluating expectations on a batch."""

    valid: DataFrame
    quarantine: DataFrame
    counts: DataFrame


def rank_duplicates(parsed: DataFrame, existing_keys: DataFrame | None = None) -> DataFrame:
    """Add ``_duplicate_rank``: 1 for the first row of each (id, snapshot_date), 2+ after.

    Rows whose key is already in silver (``existing_keys``) rank after it.
    """
    order = Window.partitionBy(*KEY).orderBy("_ingested_at", "_source_file", "_bronze_record")
    ranked = parsed.withColumn("_duplicate_rank", F.row_number().over(order))
    if existing_keys is None:
        return ranked
    seen = existing_keys.select(*KEY).distinct().withColumn("_seen", F.lit(1))
    return (
        ranked.join(seen, list(KEY), "left")
        .withColumn("_duplicate_rank", F.col("_duplicate_rank") + F.coalesce(F.col("_seen"), F.lit(0)))
        .drop("_seen")
    )


def evaluate(df: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> DataFrame:
    """Add ``_failed_rules``: the names of the rules each row fails (NULL counts as failed)."""
    failed = [F.when(~F.coalesce(F.expr(r.predicate), F.lit(False)), F.lit(r.name)) for r in rules]
    return df.withColumn("_failed_rules", F.array_compact(F.array(*failed)))


def split(evaluated: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> Split:
    """Split evaluated rows: drop-rule failures to quarantine, the rest to silver, plus counts."""
    drop_names = F.array(*[F.lit(r.name) for r in by_action("drop", rules)])
    flagged = evaluated.withColumn(
        "_dropped", F.size(F.array_intersect(F.col("_failed_rules"), drop_names)) > 0
    )
    quarantine = (
        flagged.filter("_dropped")
        .withColumn("_quarantine_reason", F.concat_ws("; ", F.col("_failed_rules")))
        .drop("_duplicate_rank", "_dropped")
    )
    valid = flagged.filter(~F.col("_dropped")).drop(
        "_failed_rules", "_bronze_record", "_duplicate_rank", "_dropped"
    )
    return Split(valid=valid, quarantine=quarantine, counts=rule_counts(flagged, rules))


def rule_counts(flagged: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> DataFrame:
    """Per snapshot date and rule: rows evaluated, failed, passed, and quarantined (any rule).

    One aggregation pass over rows carrying ``_failed_rules`` and the ``_dropped`` flag.
    """
    aggs = [
        F.count(F.lit(1)).alias("total_rows"),
        F.sum(F.col("_dropped").cast("long")).alias("quarantined_rows"),
    ] + [F.sum(F.array_contains("_failed_rules", r.name).cast("long")).alias(r.name) for r in rules]
    wide = flagged.groupBy("snapshot_date").agg(*aggs)
    stack = ", ".join(f"'{r.name}', '{r.action}', `{r.name}`" for r in rules)
    return wide.select(
        "snapshot_date",
        "total_rows",
        "quarantined_rows",
        F.expr(f"stack({len(rules)}, {stack}) AS (rule, action, failed_rows)"),
    ).withColumn("passed_rows", F.col("total_rows") - F.col("failed_rows"))
