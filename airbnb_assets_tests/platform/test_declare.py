"""Every asset is declared through platform.declare: specs from the catalogue, steps on Spark."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from airbnb_assets import __version__
from airbnb_assets.definitions import ASSETS, defs
from airbnb_assets.platform.declare import STEP_LAUNCHER, code_version, column_schema, spark_asset, table_spec
from airbnb_assets.platform.tables import DRIFT_METRICS, GOLD, TABLES, Table

#: Group and kinds of every asset of the code location (what the UI shows and filters by).
EXPECTED = {
    "bronze/listings": ("bronze", {"spark", "delta"}),
    "ops/landing_files": ("ops", {"spark", "delta"}),
    "silver/listings": ("silver", {"spark", "delta"}),
    "silver/listings_quarantine": ("silver", {"spark", "delta"}),
    "ops/data_quality": ("ops", {"spark", "delta"}),
    "gold/listing_features": ("gold", {"spark", "delta"}),
    "gold/price_predictions": ("ml", {"spark", "delta", "mlflow"}),
    "ml/price_model": ("ml", {"scikitlearn", "mlflow"}),
    "monitoring/drift_report": ("monitoring", {"evidently", "delta"}),
    "monitoring/dashboard": ("monitoring", {"plotly", "html"}),
}
#: Tables whose columns a domain module declares → those columns (name, type, description).
DOMAIN_COLUMNS = {
    "bronze/listings": "airbnb_assets.ingest.bronze:PROVENANCE_COLUMNS",
    "silver/listings": "airbnb_assets.silver.schema:SILVER_TABLE_COLUMNS",
    "silver/listings_quarantine": "airbnb_assets.silver.schema:QUARANTINE_TABLE_COLUMNS",
    "gold/listing_features": "airbnb_assets.gold.features:FEATURE_TABLE_COLUMNS",
}


def _declared(table: Table) -> list[str]:
    if table.schema is not None:
        return [f.name for f in table.schema.fields]
    module, name = DOMAIN_COLUMNS[table.name].split(":")
    return [c[0] for c in getattr(__import__(module, fromlist=[name]), name)]


def test_every_asset_carries_its_group_kinds_code_version_and_step_launcher() -> None:
    assets = defs.get_repository_def().assets_defs_by_key
    assert {k.to_user_string() for k in assets} == set(EXPECTED)
    for key, assets_def in assets.items():
        spec = assets_def.specs_by_key[key]
        assert (spec.group_name, set(spec.kinds)) == EXPECTED[key.to_user_string()]
        assert spec.code_version is not None and spec.code_version.startswith(__version__)
        assert STEP_LAUNCHER in assets_def.required_resource_keys  # Databricks runs the step


def test_every_table_asset_carries_the_catalogued_columns() -> None:
    """``dagster/column_schema`` names the table's declared columns; daily tables are daily assets."""
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    tables = [t for t in TABLES if t.key in specs]
    assert {t.name for t in tables} == {k for k, (_, kinds) in EXPECTED.items() if "spark" in kinds}
    for table in tables:
        spec = specs[table.key]
        schema = spec.metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema)
        assert [c.name for c in schema.columns] == _declared(table), table.name
        assert len({c.name for c in schema.columns}) == len(schema.columns)
        assert all(c.type for c in schema.columns)
        assert spec.code_version == code_version(schema)
        assert (spec.partitions_def is not None) == (table.partition_by == "run_date")


def test_the_code_version_follows_the_declared_schema() -> None:
    assert DRIFT_METRICS.schema is not None
    schema = column_schema(DRIFT_METRICS)
    changed = dg.TableSchema(columns=[*schema.columns[:-1], dg.TableColumn(schema.columns[-1].name, "int")])
    assert code_version(schema) == code_version(column_schema(DRIFT_METRICS))
    assert code_version(schema) != code_version(changed)
    assert code_version() == __version__


def test_columns_are_passed_exactly_when_the_catalogue_declares_none() -> None:
    with pytest.raises(ValueError, match="columns exactly"):
        table_spec(GOLD, "gold")
    with pytest.raises(ValueError, match="columns exactly"):
        table_spec(DRIFT_METRICS, "monitoring", columns=[("run_date", "date", "")])


class _Refusing(dg.StepLauncher):
    """A step launcher that takes the step and refuses it (as a cluster that cannot start would)."""

    def __init__(self) -> None:
        self.launched: list[str] = []

    def launch_step(self, step_context: Any) -> Iterator[Any]:
        self.launched.append(step_context.step.key)
        raise RuntimeError("the launcher has the step")


def test_the_step_launcher_runs_a_declared_asset_not_the_local_process() -> None:
    ran: list[bool] = []

    @spark_asset(table_spec(GOLD, "gold", columns=[("listing_id", "bigint", "")]))
    def probe(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        ran.append(True)
        return dg.MaterializeResult()

    launcher = _Refusing()
    result = dg.materialize(
        [probe],
        resources={STEP_LAUNCHER: dg.ResourceDefinition.hardcoded_resource(launcher)},
        raise_on_error=False,
    )
    assert not result.success and launcher.launched == ["gold__listing_features"] and ran == []
    local = dg.materialize([probe], resources={STEP_LAUNCHER: dg.ResourceDefinition.none_resource()})
    assert local.success and ran == [True]  # without Databricks the step runs here


def test_the_asset_list_is_the_code_location() -> None:
    assert {k for a in ASSETS for k in a.keys} == set(defs.get_repository_def().assets_defs_by_key)
