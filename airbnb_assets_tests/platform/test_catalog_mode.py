"""Catalog mode for real: the bootstrap's SQL, and the ETL assets on ``spark_catalog.<schema>.<table>``.

The ETL test runs ``catalog_run.py`` in a process of its own (a Spark session's catalog cannot
change, and the suite's session is in-memory), then checks from here, without Spark: the catalog
listed the tables, their files hold what path mode's transforms give (read with ``deltalake`` at the location
the catalog gives), and nothing was written outside the lakehouse roots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

from airbnb_assets.cli import main
from airbnb_assets.platform.bootstrap import bootstrap_statements, lakehouse_volumes, volume_of
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.spark import SparkResource
from airbnb_assets.platform.tables import (
    BRONZE,
    DATA_QUALITY,
    GOLD,
    LANDING_FILES,
    SILVER,
    SILVER_QUARANTINE,
    TABLES,
)
from airbnb_assets_tests.conftest import build_gold, csv_data_rows, snapshot_file
from benchmarks.samples import head_records

#: The real snapshot whose first records the ETL test lands (a sample: the catalog, not the rows, is
#: what it checks).
SNAPSHOT = snapshot_file("2019-06-02")
SAMPLE_ROWS = 2000
#: The tables the ETL assets write (bronze → silver → gold).
ETL_TABLES = [BRONZE, LANDING_FILES, SILVER, SILVER_QUARANTINE, DATA_QUALITY, GOLD]

# ---------------------------------------------------------------------------------- bootstrap SQL (no Spark)


def test_bootstrap_statements_schemas_volumes_then_commented_tables() -> None:
    landing = volume_of(
        "/Volumes/airbnb_test/landing/listings", "Landed files", "abfss://l@acct.dfs.core.windows.net/x"
    )
    sql = bootstrap_statements("airbnb_test", TABLES, volumes=[landing])
    schemas = [s for s in sql if s.startswith("CREATE SCHEMA")]
    assert [s.split(" COMMENT")[0] for s in schemas] == [
        f"CREATE SCHEMA IF NOT EXISTS airbnb_test.{s}"
        for s in ("bronze", "ops", "silver", "gold", "monitoring", "ml", "landing")  # ml: the model
    ]
    assert sql[len(schemas)] == (
        "CREATE EXTERNAL VOLUME IF NOT EXISTS airbnb_test.landing.listings "
        "LOCATION 'abfss://l@acct.dfs.core.windows.net/x' COMMENT 'Landed files'"
    )
    tables = sql[len(schemas) + 1 :]
    declared = [t for t in TABLES if t.schema is not None]
    assert [s.split(" (")[0] for s in tables] == [
        f"CREATE TABLE IF NOT EXISTS airbnb_test.{t.schema_name}.{t.table_name}" for t in declared
    ]
    ledger = tables[0]
    assert "`file_path` string NOT NULL COMMENT 'Full path of the landed file.'" in ledger
    assert "`columns` array<string> COMMENT 'Header columns (cleaned).'" in ledger
    assert ledger.endswith(
        "USING DELTA COMMENT 'Ledger of every landed file seen: ingested, duplicate, failed or "
        "ignored (reason), with the header\\'s new and missing columns.'"
    )
    predictions = next(s for s in tables if ".gold.price_predictions (" in s)
    assert "PARTITIONED BY (`run_date`)" in predictions and "LOCATION" not in predictions
    assert not any("bronze.listings" in s or "silver.listings" in s for s in sql)  # created by first write


def test_bootstrap_locations_and_volumes_of_a_lakehouse(tmp_path: Path) -> None:
    sql = bootstrap_statements(
        "spark_catalog", [LANDING_FILES], location=lambda t: f"/lh/{t.schema_name}/{t.table_name}"
    )
    assert " LOCATION '/lh/ops/landing_files' COMMENT " in sql[-1]
    assert volume_of("/Volumes/c/s") is None and volume_of("/tmp/Volumes/c/s/v") is None
    assert volume_of("/Volumes/c/s/v/sub/dir") is not None
    spark = SparkResource(master=None)
    on_databricks = LakehouseResource(
        root="/Volumes/airbnb_prod/ops/lakehouse/prod",
        landing_path="/Volumes/airbnb_prod/landing/listings",
        catalog="airbnb_prod",
        spark=spark,
        platform="databricks",
    )
    assert [v.full_name for v in lakehouse_volumes(on_databricks)] == [
        "airbnb_prod.landing.listings",
        "airbnb_prod.ops.lakehouse",
    ]
    local = on_databricks.model_copy(update={"platform": "local"})
    assert lakehouse_volumes(local) == []


def test_cli_dry_run_prints_the_sql_without_spark(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRBNB_ENV", "test")
    monkeypatch.setenv("AIRBNB_TEST_CATALOG", "airbnb_ci")
    monkeypatch.setenv("AIRBNB_TEST_LANDING_PATH", str(tmp_path / "landing"))
    assert main(["bootstrap", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "CREATE SCHEMA IF NOT EXISTS airbnb_ci.bronze" in out
    assert "CREATE TABLE IF NOT EXISTS airbnb_ci.ops.landing_files" in out
    assert not (tmp_path / "landing").exists()  # a dry run creates nothing


# ---------------------------------------------------------------------------------- ETL in catalog mode


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The header and first :data:`SAMPLE_ROWS` records of :data:`SNAPSHOT`, under its name."""
    return head_records(SNAPSHOT, tmp_path_factory.mktemp("catalog_sample") / SNAPSHOT.name, SAMPLE_ROWS)


@pytest.fixture(scope="module")
def catalog_run(tmp_path_factory: pytest.TempPathFactory, sample: Path) -> tuple[Path, dict, set[Path]]:
    """Run ``catalog_run.py`` on :func:`sample` in its own process; return its work folder, result
    and new files.

    Its working directory and ``AIRBNB_LAKEHOUSE_ROOT`` (the fallback root of any code that would
    build its own environment) are empty folders of the work folder, so writes there are caught.
    """
    work = tmp_path_factory.mktemp("catalog_mode")
    cwd, elsewhere = work / "cwd", work / "elsewhere"
    cwd.mkdir()
    elsewhere.mkdir()
    before = _files(work)
    script = Path(__file__).with_name("catalog_run.py")
    env = {**os.environ, "AIRBNB_LAKEHOUSE_ROOT": str(elsewhere), "AIRBNB_ENV": "dev"}
    done = subprocess.run(
        [sys.executable, str(script), str(work), str(sample)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    result = json.loads((work / "result.json").read_text(encoding="utf-8"))
    return work, result, _files(work) - before


def test_bootstrap_runs_in_catalog_mode_and_again_creates_nothing(catalog_run) -> None:  # type: ignore[no-untyped-def]
    work, result, _ = catalog_run
    first, again = result["bootstrap"]
    created = {name for outcome, _, name in first if outcome == "created"}
    assert {f"spark_catalog.{s}" for s in ("bronze", "ops", "silver", "gold", "monitoring")} <= created
    assert {
        f"spark_catalog.{t.schema_name}.{t.table_name}" for t in TABLES if t.schema is not None
    } <= created
    assert ("created", "folder", str(work / "catalog_lakehouse/landing/listings")) in [
        tuple(o) for o in first
    ]
    deferred = {name for outcome, _, name in first if outcome == "deferred"}
    assert deferred == {f"spark_catalog.{t.schema_name}.{t.table_name}" for t in TABLES if t.schema is None}
    assert [o for o, _, _ in again if o == "created"] == []
    assert {o for o, kind, _ in again if kind != "table" or o != "deferred"} == {"found"}


def test_etl_in_catalog_mode_lists_describes_and_matches_path_mode(catalog_run, sample, spark) -> None:  # type: ignore[no-untyped-def]
    work, result, _ = catalog_run
    assert result["catalog_ok"] == [True, True]
    assert result["show_tables"] == {
        "bronze": ["listings"],
        "gold": ["listing_features", "price_predictions", "price_predictions_quarantine"],
        "monitoring": ["drift_metrics"],
        "ops": ["data_quality", "landing_files"],
        "silver": ["listings", "listings_quarantine"],
    }
    for table in TABLES:
        info = result["tables"][table.name]
        expected = work / "catalog_lakehouse" / table.schema_name / table.table_name
        assert (info["type"], info["location"]) == ("EXTERNAL", f"file:{expected}")
        assert info["comment"] == table.description
    assert result["ledger_columns"]["sha256"] == "Content hash (a re-sent identical file is a duplicate)."

    rows = len(csv_data_rows(sample))
    assert rows == SAMPLE_ROWS
    counts = {}
    for table in ETL_TABLES:
        location = result["tables"][table.name]["location"].removeprefix("file:")
        counts[table.name] = len(DeltaTable(location).to_pandas())
    assert counts[BRONZE.name] == 2 * rows  # the snapshot and its re-delivery
    assert counts[SILVER.name] == build_gold(spark, [sample]).count()  # what path mode's transforms give
    assert counts[LANDING_FILES.name] >= 2 and counts[SILVER.name] > 0
    # Gold holds the re-delivery's features only: replaceWhere replaced the date's rows in place.
    gold = DeltaTable(str(work / "catalog_lakehouse/gold/listing_features")).to_pandas()
    assert counts[GOLD.name] == gold["listing_id"].nunique() == counts[SILVER.name]
    history = DeltaTable(str(work / "catalog_lakehouse/gold/listing_features")).history()
    assert any(
        h["operation"] == "WRITE" and h["operationParameters"].get("mode") == "Overwrite" for h in history
    )


def test_catalog_mode_writes_nothing_outside_the_lakehouse_roots(catalog_run) -> None:  # type: ignore[no-untyped-def]
    work, _, new_files = catalog_run
    allowed = (work / "catalog_lakehouse",)
    stray = sorted(str(p) for p in new_files if not p.is_relative_to(allowed[0]))
    assert stray == [str(work / "result.json")]
    catalog_files = {p for p in new_files if p.is_relative_to(allowed[0])}
    assert any(p.name == "derby.log" and p.parent.name == "_metastore" for p in catalog_files)
    assert any(p.parts[-2:] == ("_delta_log", "00000000000000000000.json") for p in catalog_files)
