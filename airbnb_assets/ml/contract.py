"""The feature contract: exactly the columns and types the model is trained and scored on.

Derived from the declared gold feature list. :func:`conform` makes any incoming table fit it:
extra columns are ignored, a missing column becomes null (and is reported), every value is cast
to the contract's type, and a row with a value that cannot be cast is set aside with a reason
instead of crashing the scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from airbnb_assets.gold.features import FEATURES, KEYS, MAX_MISSING_SHARE, TARGET

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class ContractColumn:
    """One model input: name, Spark type (``double`` or ``string``), kind and whether it is required."""

    name: str
    spark_type: str
    kind: str
    required: bool = True


#: The model's inputs, in order.
CONTRACT: tuple[ContractColumn, ...] = tuple(
    ContractColumn(f.name, f.spark_type, f.kind, f.required) for f in FEATURES
)
NUMERIC = [c.name for c in CONTRACT if c.kind == "numeric"]
CATEGORICAL = [c.name for c in CONTRACT if c.kind == "categorical"]
TEXT = [c.name for c in CONTRACT if c.kind == "text"]
REQUIRED = [c.name for c in CONTRACT if c.required]


def missing_required(rows: pd.DataFrame, max_missing_share: float = MAX_MISSING_SHARE) -> list[str]:
    """Required contract features absent from ``rows`` or null on more than ``max_missing_share`` of them.

    An empty frame lacks nothing (there is nothing to judge).
    """
    if rows.empty:
        return []
    return [
        name for name in REQUIRED if name not in rows or float(rows[name].isna().mean()) > max_missing_share
    ]


@dataclass(frozen=True)
class Conformed:
    """An input table made to fit the contract."""

    rows: DataFrame
    rejected: DataFrame
    missing: list[str]
    extra: list[str]


def conform(df: DataFrame, contract: tuple[ContractColumn, ...] = CONTRACT) -> Conformed:
    """Select and cast exactly the contract's columns (plus keys and target) from ``df``.

    ``rows`` has the keys, the contract columns, the target (null if absent) and no other column;
    ``rejected`` has the keys, ``reason`` and the raw ``record`` (JSON) of rows with a value that
    cannot be cast.
    """
    missing_keys = [k for k in KEYS if k not in df.columns]
    if missing_keys:
        raise ValueError(f"cannot score a table without its key columns: {missing_keys}")
    present = set(df.columns)
    names = {c.name for c in contract}
    extra = [c for c in df.columns if c not in names and c not in (*KEYS, TARGET) and not c.startswith("_")]
    missing = [c.name for c in contract if c.name not in present]
    values, errors = [], []
    for col in contract:
        if col.name in present:
            value = F.col(col.name).try_cast(col.spark_type)
            bad = F.col(col.name).isNotNull() & value.isNull()
            errors.append(
                F.when(
                    bad,
                    F.format_string(
                        f"{col.name}: cannot cast %s to {col.spark_type}", F.col(col.name).cast("string")
                    ),
                )
            )
        else:
            value = F.lit(None).cast(col.spark_type)
        values.append(value.alias(col.name))
    target = F.col(TARGET).try_cast("double") if TARGET in present else F.lit(None).cast("double")
    record = F.to_json(F.struct(*[F.col(c) for c in df.columns if c in names]))
    checked = df.select(
        *KEYS,
        *values,
        target.alias(TARGET),
        F.array_compact(F.array(*errors)).alias("_errors")
        if errors
        else F.array().cast("array<string>").alias("_errors"),
        record.alias("record"),
    )
    rows = checked.filter(F.size("_errors") == 0).drop("_errors", "record")
    rejected = checked.filter(F.size("_errors") > 0).select(
        *KEYS, F.concat_ws("; ", "_errors").alias("reason"), "record"
    )
    return Conformed(rows=rows, rejected=rejected, missing=missing, extra=extra)
