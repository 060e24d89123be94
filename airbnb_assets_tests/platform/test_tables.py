"""The table catalogue: every table declared once, with unique names and asset keys."""

import dagster as dg
import pytest

from airbnb_assets.platform.tables import (
    DASHBOARD_KEY,
    DRIFT_METRICS,
    DRIFT_REPORT_KEY,
    MODEL_KEY,
    PREDICTIONS,
    PREDICTIONS_QUARANTINE,
    SILVER,
    TABLES,
    Table,
    by_name,
)


def test_names_and_asset_keys_are_unique() -> None:
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names)) == 9
    keys = [t.key for t in TABLES] + [MODEL_KEY, DRIFT_REPORT_KEY, DASHBOARD_KEY]
    assert len(keys) == len(set(keys))


def test_key_path_and_parts_follow_the_name() -> None:
    for table in TABLES:
        assert table.key.to_user_string() == table.name == str(table)
        assert table.key == dg.AssetKey([table.schema_name, table.table_name])
    assert (SILVER.schema_name, SILVER.table_name) == ("silver", "listings")


def test_by_name_finds_each_table_and_names_the_catalogue_otherwise() -> None:
    assert all(by_name(t.name) is t for t in TABLES)
    with pytest.raises(KeyError, match="no table 'silver/listing'; the catalogue has: bronze/listings, "):
        by_name("silver/listing")


@pytest.mark.parametrize("name", ["listings", "a/b/c", "/listings", "silver/"])
def test_a_name_must_be_schema_slash_table(name: str) -> None:
    with pytest.raises(ValueError, match="schema/table"):
        Table(name, "bad")


def test_declared_schemas_hold_their_keys_and_partition_column() -> None:
    declared = [t for t in TABLES if t.schema is not None]
    assert declared and all(not t.columns_from for t in declared)
    for table in declared:
        columns = set(table.schema.fieldNames())
        assert set(table.keys) <= columns, table.name
        assert table.partition_by is None or table.partition_by in columns, table.name
        assert all(f.metadata.get("comment") for f in table.schema.fields), table.name  # documented
    assert all(t.columns_from for t in TABLES if t.schema is None)  # says where its columns come from
    assert PREDICTIONS.partition_by == "run_date"


def test_every_asset_of_the_code_location_is_catalogued() -> None:
    """Each asset is a catalogued table or a catalogued non-table key; two tables are side outputs."""
    from airbnb_assets.definitions import defs

    assets = set(defs.get_repository_def().asset_graph.get_all_asset_keys())
    side_outputs = {PREDICTIONS_QUARANTINE, DRIFT_METRICS}  # written by the predictions / drift assets
    tables = {t.key for t in TABLES if t not in side_outputs}
    assert assets == tables | {MODEL_KEY, DRIFT_REPORT_KEY, DASHBOARD_KEY}
