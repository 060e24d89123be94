"""Small files: a small day is written as one file per table, and a table that gathers many small
files is compacted by the write that crosses the line (an ``OPTIMIZE`` commit streams skip), and
only then: not by every new process's first write."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.platform import writes
from airbnb_assets.platform.delta_log import latest_write
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import DATA_QUALITY, LANDING_FILES, SILVER, SILVER_QUARANTINE
from airbnb_assets.silver.assets import silver_listings
from airbnb_assets_tests.reliability.test_runs import small_snapshot


def _files_added(lakehouse: LakehouseResource, table) -> list[int]:  # type: ignore[no-untyped-def]
    """Files each write commit of ``table`` added, oldest first."""
    history = DeltaTable(lakehouse.path(table)).history()
    return [int(c["operationMetrics"]["numFiles"]) for c in reversed(history) if c["operation"] == "WRITE"]


def test_a_small_day_is_one_file_per_table(resources: dict, lakehouse: LakehouseResource) -> None:
    small_snapshot(Path(lakehouse.landing_path), "2019-10-14", rows=2000)
    assert dg.materialize([bronze_ingest, silver_listings], resources=resources).success
    # Before: silver/listings got 32 files for these 2,000 rows (AQE did not coalesce the cached
    # judged rows), the ledger and the quality history 4 files for a few rows each.
    for table in (SILVER, SILVER_QUARANTINE, LANDING_FILES, DATA_QUALITY):
        assert _files_added(lakehouse, table) == [1], table.name


def test_many_small_files_are_compacted_by_the_write_that_crosses_the_line(
    lakehouse: LakehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "COMPACT_MIN_FILES", 5)  # 50 in the product
    for i in range(6):
        record = {
            "file_path": f"/x/listings_2020-01-0{i + 1}.csv",
            "file_name": f"f{i}",
            "status": "ignored",
            "recorded_at": dt.datetime(2020, 1, 1),
        }
        lakehouse.append(lakehouse.create_frame([record] * (i + 1), LANDING_FILES), LANDING_FILES)
    history = DeltaTable(lakehouse.path(LANDING_FILES)).history()
    operations = [c["operation"] for c in reversed(history)]
    # The fifth write crossed the line: its five files became one, and the sixth added one more.
    assert operations == ["WRITE"] * 5 + ["OPTIMIZE", "WRITE"]
    assert lakehouse.file_stats(LANDING_FILES)[0] == 2
    assert lakehouse.read(LANDING_FILES).count() == sum(range(1, 7))  # nothing lost or doubled
    # What the last write wrote is still known behind the compaction commit.
    assert lakehouse.last_write_rows(LANDING_FILES) == 6


def test_a_new_process_writes_without_compacting(tmp_path: Path) -> None:
    """Delta's auto compaction rewrote, on a fresh JVM's first write, every table holding two files."""
    code = """
import sys
from airbnb_assets.platform.spark import SparkResource
spark = SparkResource(local_dir=sys.argv[2]).session
for i in range(int(sys.argv[3])):
    spark.range(10).coalesce(1).write.format("delta").mode("append").save(sys.argv[1])
"""
    table = str(tmp_path / "t")
    for writes_in_process in (3, 1):  # a first run writes three files, a second run one more
        subprocess.run(
            [sys.executable, "-c", code, table, str(tmp_path / "spark"), str(writes_in_process)], check=True
        )
    assert [c["operation"] for c in DeltaTable(table).history()] == ["WRITE"] * 4


def test_latest_write_skips_an_auto_compaction() -> None:
    commits = [
        {"version": 7, "operation": "OPTIMIZE", "operationMetrics": {"numAddedFiles": "1"}},
        {"version": 6, "operation": "WRITE", "operationMetrics": {"numOutputRows": "12"}},
    ]
    assert latest_write(commits) == (7, {"numOutputRows": "12"})
    assert latest_write(commits[1:]) == (6, {"numOutputRows": "12"})
