"""Silver parsing: bronze strings → typed, named silver columns (pure DataFrame functions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F

from airbnb_assets.ingest.bronze import PROVENANCE
from airbnb_assets.silver.schema import HEADER_ALIASES, NULL_TOKENS, SILVER_COLUMNS, SilverColumn

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: An integer as text: optional sign, digits, optionally ".0…" (group 1 is the exact integer).
INTEGER_TEXT = r"^([+-]?[0-9]+)(?:\.0*)?$"
#: An amount as Inside Airbnb writes one: an optional leading ``$``, digits (in comma-separated
#: thousands, or none), an optional decimal point. A decimal comma (``45,00 $``), a trailing
#: symbol, a sign or a stray comma is not one: stripping symbols first would read ``45,00`` as 4500.
CURRENCY_TEXT = r"^\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$"


def apply_aliases(bronze: DataFrame, aliases: dict[str, str] = HEADER_ALIASES) -> DataFrame:
    """Fold header variants into one column: ``coalesce(canonical, alias, ...)`` per field."""
    cols = set(bronze.columns)
    out = bronze
    for target in sorted(set(aliases.values())):
        sources = [c for c in [target, *[a for a, t in aliases.items() if t == target]] if c in cols]
        if sources:
            out = out.withColumn(target, F.coalesce(*[F.col(f"`{c}`") for c in sources]))
    return out.drop(*[a for a in aliases if a in cols and a not in aliases.values()])


def clean_raw(col: Column) -> Column:
    """Trim a raw string and turn the null tokens (``N/A``, empty, ...) into null."""
    trimmed = F.trim(col)
    return F.when(trimmed.isin(*NULL_TOKENS), F.lit(None)).otherwise(trimmed)


def parse_value(raw: Column, parser: str) -> Column:
    """Parse a cleaned raw string with one of the declared parsers; unparsable → null."""
    if parser == "string":
        return raw
    if parser == "currency":
        return F.when(raw.rlike(CURRENCY_TEXT), F.regexp_replace(raw, r"[$,]", "").try_cast("double"))
    if parser == "boolean":
        low = F.lower(raw)
        return (
            F.when(low.isin("t", "true", "1", "yes", "y"), F.lit(True))
            .when(low.isin("f", "false", "0", "no", "n"), F.lit(False))
            .otherwise(F.lit(None).cast("boolean"))
        )
    if parser == "date":
        # try_to_timestamp, not try_to_date: PySpark 4.0 (Databricks Runtime 17.3) has no try_to_date
        return F.coalesce(
            *(F.try_to_timestamp(raw, F.lit(pattern)).cast("date") for pattern in ("yyyy-MM-dd", "M/d/yy"))
        )
    if parser in ("long", "int"):
        # Parsed from the text, never through a double: ids reach 19 digits (above 2^53).
        # "12", "+12" and "12.0" are integers; "12.5", "1e3", "abc" and out-of-range values are not.
        digits = F.regexp_extract(raw, INTEGER_TEXT, 1)
        spark_type = "bigint" if parser == "long" else "int"
        return F.when(digits != "", digits.try_cast(spark_type))
    return raw.try_cast(parser)


def parse_bronze(bronze: DataFrame, columns: tuple[SilverColumn, ...] = SILVER_COLUMNS) -> DataFrame:
    """Type bronze rows into the declared silver columns, keeping provenance and parse errors.

    Columns missing from the bronze rows become typed nulls; bronze columns not declared are
    left in bronze. ``_bronze_record`` keeps the row's raw values as JSON for the quarantine.
    """
    df = apply_aliases(bronze)
    present = set(df.columns)
    raw_cols = [c for c in df.columns if c not in PROVENANCE]
    selected, errors = [], []
    for spec in columns:
        if spec.name in present:
            raw = clean_raw(F.col(f"`{spec.name}`"))
            value = parse_value(raw, spec.parser)
            errors.append(F.when(raw.isNotNull() & value.isNull(), F.lit(spec.name)))
        else:
            value = F.lit(None)
        selected.append(value.cast(spec.spark_type).alias(spec.name))
    error_list = F.array_compact(F.array(*errors)) if errors else F.array().cast("array<string>")
    return df.select(
        *selected,
        F.col("_snapshot_date").alias("snapshot_date"),
        "_source_file",
        "_ingested_at",
        "_rescued_data",
        error_list.alias("_parse_errors"),
        F.to_json(F.struct(*[F.col(f"`{c}`") for c in raw_cols])).alias("_bronze_record"),
    )
