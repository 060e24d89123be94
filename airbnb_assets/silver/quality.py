"""Evaluate expectations on parsed rows and split them into silver, quarantine and counts.

A row failing a ``drop`` rule, or a ``fail`` rule within its threshold, goes to quarantine with
the rule names. Whether a whole file is *held* is decided per source file by :func:`held_files`
before the split; the caller marks such rows (and rows of a superseded file) with a preset
``_quarantine_reason``, and :func:`split` sends them to quarantine as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from airbnb_assets.silver.expectations import EXPECTATIONS, Expectation, by_action

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

KEY = ("id", "snapshot_date")
#: Quarantine column: why the row is there (rule names, a hold, a re-delivery, an operator).
REASON = "_quarantine_reason"
#: Quarantine column: true while the row's file is held by a fail rule (release or reject it).
HELD = "_held"


@dataclass(frozen=True)
class Split:
    """The outcome of evaluating expectations on a batch."""

    valid: DataFrame
    quarantine: DataFrame
    counts: DataFrame


def file_name(source: Column | str) -> Column:
    """The file name (last path segment) of a ``_source_file`` column."""
    col = F.col(source) if isinstance(source, str) else source
    return F.substring_index(col, "/", -1)


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


def _fails(rule: Expectation) -> Column:
    return ~F.coalesce(F.expr(rule.predicate), F.lit(False))


def evaluate(df: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> DataFrame:
    """Add ``_failed_rules``: the names of the rules each row fails (NULL counts as failed)."""
    failed = [F.when(_fails(r), F.lit(r.name)) for r in rules]
    return df.withColumn("_failed_rules", F.array_compact(F.array(*failed)))


def hold_reason(rule: Expectation, failed_rows: int, total_rows: int) -> str:
    """``id_not_null failed on 100.0% of rows (> 1%)``: why a fail rule holds a file."""
    limit = rule.failed_share_limit
    bound = f"> {limit * 100:g}%" if failed_rows > limit * total_rows else "every row"
    return f"{rule.name} failed on {100.0 * failed_rows / total_rows:.1f}% of rows ({bound})"


def fail_rule_counts(rules: tuple[Expectation, ...] = EXPECTATIONS) -> list[Column]:
    """Aggregations for judging a file: ``_total`` rows, and per ``fail`` rule its failing rows.

    Rows are judged on their own (``_duplicate_rank`` must be set to 1 before aggregating).
    """
    return [F.count(F.lit(1)).alias("_total")] + [
        F.sum(_fails(r).cast("long")).alias(r.name) for r in by_action("fail", rules)
    ]


def hold_of(counts: Any, rules: tuple[Expectation, ...] = EXPECTATIONS) -> str | None:
    """The hold reason of a file from its :func:`fail_rule_counts` row, or ``None`` if not held."""
    reasons = [
        hold_reason(r, counts[r.name], counts["_total"])
        for r in by_action("fail", rules)
        if not r.passes(counts[r.name], counts["_total"])
    ]
    return "held: " + "; ".join(reasons) if reasons else None


def held_files(parsed: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> dict[str, str]:
    """Source files a ``fail`` rule holds, with the reason (``held: <rule> failed on ...``).

    Each file is judged on its own rows: a fail rule holds it when more than its
    ``max_failed_share`` of the rows, or every row, fail it.
    """
    scored = parsed.withColumn("_duplicate_rank", F.lit(1))
    rows = scored.groupBy("_source_file").agg(*fail_rule_counts(rules)).collect()
    return {r["_source_file"]: reason for r in rows if (reason := hold_of(r, rules))}


def split(evaluated: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> Split:
    """Split evaluated rows into silver, quarantine and per-file counts.

    Rows failing a ``drop`` or ``fail`` rule go to quarantine with the names of the rules they
    failed; rows that arrive with a ``_quarantine_reason`` (a held or superseded file) go there
    with it, ``_held`` as given. Everything else is silver.
    """
    if REASON not in evaluated.columns:
        evaluated = evaluated.withColumn(REASON, F.lit(None).cast("string"))
    if HELD not in evaluated.columns:
        evaluated = evaluated.withColumn(HELD, F.lit(False))
    stopping = [r.name for r in rules if r.action in ("drop", "fail")]
    names = F.array(*[F.lit(n) for n in stopping]).cast("array<string>")
    flagged = evaluated.withColumn(
        "_dropped", F.col(REASON).isNotNull() | (F.size(F.array_intersect(F.col("_failed_rules"), names)) > 0)
    )
    quarantine = (
        flagged.filter("_dropped")
        .withColumn(REASON, F.coalesce(F.col(REASON), F.concat_ws("; ", F.col("_failed_rules"))))
        .withColumn(HELD, F.coalesce(F.col(HELD), F.lit(False)))
        .drop("_duplicate_rank", "_dropped")
    )
    valid = flagged.filter(~F.col("_dropped")).drop(
        "_failed_rules", "_bronze_record", "_duplicate_rank", "_dropped", REASON, HELD
    )
    return Split(valid=valid, quarantine=quarantine, counts=rule_counts(flagged, rules))


def rule_counts(flagged: DataFrame, rules: tuple[Expectation, ...] = EXPECTATIONS) -> DataFrame:
    """Per snapshot date, source file and rule: rows evaluated, failed, passed, and quarantined.

    One aggregation pass over rows carrying ``_failed_rules`` and the ``_dropped`` flag.
    """
    aggs = [
        F.count(F.lit(1)).alias("total_rows"),
        F.sum(F.col("_dropped").cast("long")).alias("quarantined_rows"),
    ] + [F.sum(F.array_contains("_failed_rules", r.name).cast("long")).alias(r.name) for r in rules]
    wide = flagged.groupBy("snapshot_date", F.col("_source_file").alias("source_file")).agg(*aggs)
    stack = ", ".join(f"'{r.name}', '{r.action}', `{r.name}`" for r in rules)
    return wide.select(
        "snapshot_date",
        "source_file",
        "total_rows",
        "quarantined_rows",
        F.expr(f"stack({len(rules)}, {stack}) AS (rule, action, failed_rows)"),
    ).withColumn("passed_rows", F.col("total_rows") - F.col("failed_rows"))
