"""One way to declare an asset: its spec from the table catalogue, its step on Spark.

Every asset of the code location is declared with :func:`spark_asset` over the specs of
:func:`table_spec` (a catalogued table) or :func:`asset_spec` (an asset that is no table: the
model, the drift report, the dashboard)::

    @spark_asset(table_spec(GOLD, "gold", columns=FEATURE_TABLE_COLUMNS, deps=[SILVER.key]))
    def gold_listing_features(lakehouse: LakehouseResource) -> Iterator[dg.MaterializeResult]: ...

A table's spec takes from the catalogue (:mod:`airbnb_assets.platform.tables`) its key and
description, daily partitions when the table is partitioned by ``run_date``, its column schema
(``dagster/column_schema``, :func:`column_schema`: the table's declared Spark schema, or the
columns a domain module declares for it, passed in by the asset) and a code version derived from
both (:func:`code_version`); its kinds are ``spark`` and ``delta`` plus any given.
:func:`spark_asset` adds the requirement every Spark step has: the ``pyspark_step_launcher``
resource, which on Databricks (``step_launcher`` compute) runs the step on the run's cluster and
is ``None`` elsewhere (:mod:`airbnb_assets.platform.databricks`).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dagster as dg

from airbnb_assets import __version__
from airbnb_assets.partitions import DAILY
from airbnb_assets.platform.databricks import SparkStep
from airbnb_assets.platform.tables import Table

#: Kinds of every table asset (more may be added per asset).
SPARK_KINDS = frozenset({"spark", "delta"})
#: The resource key of the step launcher every Spark asset requires.
STEP_LAUNCHER = "pyspark_step_launcher"
#: A column a domain module declares: name, Spark SQL type, description.
Column = tuple[str, str, str]
#: Partition column of a catalogued table → the Dagster partitions of its asset.
PARTITIONS: dict[str, dg.PartitionsDefinition] = {"run_date": DAILY}


def column_schema(table: Table, columns: Iterable[Column] | None = None) -> dg.TableSchema:
    """A table's ``dagster/column_schema``: its declared Spark schema, else the domain's ``columns``.

    ``columns`` (name, Spark SQL type, description) is required exactly when the catalogue
    declares no schema (``columns_from``). A declared schema gives its comments as descriptions
    and its NOT NULLs as constraints.
    """
    if (table.schema is None) == (columns is None):
        raise ValueError(f"{table.name}: pass columns exactly when the catalogue declares none")
    if columns is not None:
        return dg.TableSchema(columns=[dg.TableColumn(n, t, description=d) for n, t, d in columns])
    assert table.schema is not None
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                f.name,
                f.dataType.simpleString(),
                description=(f.metadata or {}).get("comment"),
                constraints=dg.TableColumnConstraints(nullable=f.nullable),
            )
            for f in table.schema.fields
        ]
    )


def code_version(columns: dg.TableSchema | None = None) -> str:
    """The package version, plus a short hash of the table's declared columns when it has some.

    The version is the installed package's (the release tag, or between tags the development
    version of the commit the environment was built from, ``1.2.1.dev3+g1a2b3c4``, with a
    ``.d<date>`` suffix for uncommitted changes): a release or a new commit may change what any
    asset computes, so it marks every asset changed; assets that are no table have only it. The hash
    (8 hex digits of SHA-256 over each column's name, type, description and nullability) marks a
    table changed when its declared schema changes, even within one version.
    """
    if columns is None:
        return __version__
    shape = [[c.name, c.type, c.description, c.constraints.nullable] for c in columns.columns]
    digest = hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:8]
    return f"{__version__}/{digest}"


def table_spec(
    table: Table,
    group: str,
    *,
    columns: Iterable[Column] | None = None,
    deps: Iterable[dg.AssetKey] = (),
    kinds: Iterable[str] = (),
    description: str | None = None,
) -> dg.AssetSpec:
    """The asset spec of a catalogued table (see the module's docstring and :func:`column_schema`).

    ``description`` replaces the catalogue's where the asset says more (what else it writes).
    """
    schema = column_schema(table, columns)
    return dg.AssetSpec(
        table.key,
        description=description or table.description,
        group_name=group,
        kinds={*SPARK_KINDS, *kinds},
        deps=list(deps),
        partitions_def=PARTITIONS.get(table.partition_by or ""),
        code_version=code_version(schema),
        metadata={"dagster/column_schema": schema},
    )


def asset_spec(
    key: dg.AssetKey,
    group: str,
    description: str,
    *,
    kinds: Iterable[str],
    deps: Iterable[dg.AssetKey] = (),
    partitions: dg.PartitionsDefinition | None = DAILY,
) -> dg.AssetSpec:
    """The spec of an asset that is no table (daily unless ``partitions`` says otherwise)."""
    return dg.AssetSpec(
        key,
        description=description,
        group_name=group,
        kinds=set(kinds),
        deps=list(deps),
        partitions_def=partitions,
        code_version=code_version(),
    )


def spark_asset(
    *specs: dg.AssetSpec, name: str | None = None, checks: Sequence[dg.AssetCheckSpec] = ()
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorate a function as the asset (one spec) or multi-asset of ``specs`` and ``checks``.

    The step requires the ``pyspark_step_launcher`` resource as if the function took it as a
    parameter (its signature is extended; the function itself never sees it), so on Databricks
    the step launcher runs it on the run's cluster. The resources the function takes are passed as
    with ``@dg.asset``. ``name`` defaults to the one ``@dg.asset`` gives a single asset
    (``gold__listing_features``), so step keys do not change.
    """

    def decorate(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        launcher = inspect.Parameter(STEP_LAUNCHER, inspect.Parameter.KEYWORD_ONLY, annotation=SparkStep)
        hints = typing.get_type_hints(fn)  # resolved here: the wrapper lives in another module
        params = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(fn).parameters.values()
        ]

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def step(*args: Any, **kwargs: Any) -> Any:
                kwargs.pop(STEP_LAUNCHER)
                yield from fn(*args, **kwargs)

        else:

            @functools.wraps(fn)
            def step(*args: Any, **kwargs: Any) -> Any:
                kwargs.pop(STEP_LAUNCHER)
                return fn(*args, **kwargs)

        returns = hints.get("return", inspect.Signature.empty)
        step.__signature__ = inspect.Signature([*params, launcher], return_annotation=returns)  # type: ignore[attr-defined]
        return dg.multi_asset(
            specs=list(specs),
            check_specs=list(checks),
            name=name or specs[0].key.to_python_identifier(),
        )(step)

    return decorate
