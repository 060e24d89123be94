"""Auto Loader semantics: new files only, exactly once, schema evolution, bad files recorded."""

import gzip
import shutil
from pathlib import Path

from airbnb_assets.ingest.autoloader import run_ingestion
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, LANDING_FILES
from airbnb_assets_tests.conftest import SNAPSHOT_FILES, csv_data_rows


def _land(lakehouse: LakehouseResource, source: Path, name: str | None = None) -> None:
    shutil.copyfile(source, Path(lakehouse.landing_path) / (name or source.name))


def _snapshot(date: str) -> Path:
    return next(p for p in SNAPSHOT_FILES if date in p.name)


def test_only_new_files_exactly_once(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    first = _snapshot("2017-03-02")
    _land(lakehouse, first)
    report = run_ingestion(lakehouse)
    assert [f["status"] for f in report.files] == ["ingested"]
    assert report.rows == len(csv_data_rows(first))
    version = lakehouse.version(BRONZE)

    # A rerun with no new files writes nothing.
    assert run_ingestion(lakehouse).files == []
    assert lakehouse.version(BRONZE) == version

    # The same file landed again (same path), and the same bytes under another name: once.
    _land(lakehouse, first)
    _land(lakehouse, first, "listings_2017-03-02_copy.csv.gz")
    again = run_ingestion(lakehouse)
    assert [(f["file_name"], f["status"]) for f in again.files] == [
        ("listings_2017-03-02_copy.csv.gz", "duplicate")
    ]
    assert lakehouse.read(BRONZE).count() == len(csv_data_rows(first))


def test_schema_evolution_maps_columns_by_header(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    summary, detailed = _snapshot("2017-04-02"), _snapshot("2019-06-02")
    _land(lakehouse, summary)
    run_ingestion(lakehouse)
    _land(lakehouse, detailed)
    run_ingestion(lakehouse)
    bronze = lakehouse.read(BRONZE)
    assert {"availability_365", "host_is_superhost", "cleaning_fee"} <= set(bronze.columns)
    old = bronze.filter("_snapshot_date = DATE'2017-04-02'")
    new = bronze.filter("_snapshot_date = DATE'2019-06-02'")
    assert old.filter("host_is_superhost IS NOT NULL").count() == 0
    assert new.filter("availability_365 IS NOT NULL").count() == 0
    assert new.filter("price LIKE '$%'").count() == len(csv_data_rows(detailed))
    assert old.filter("price LIKE '$%'").count() == 0


def test_bad_files_are_recorded_and_do_not_stop_others(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    zone = Path(lakehouse.landing_path)
    (zone / "listings_2020-01-01.csv").write_bytes(b"")
    (zone / "listings_2020-01-02.csv.gz").write_bytes(gzip.compress(b"id,name,price\n"))
    good = _snapshot("2015-05-04").read_bytes()
    (zone / "listings_2020-01-03.csv.gz").write_bytes(good[: len(good) // 3])
    _land(lakehouse, _snapshot("2015-05-04"))
    report = run_ingestion(lakehouse)
    status = {f["file_name"]: (f["status"], f["reason"]) for f in report.files}
    assert status["listings_2015-05-04.csv.gz"] == ("ingested", None)
    assert status["listings_2020-01-01.csv"] == ("failed", "empty file: no header and no rows")
    assert status["listings_2020-01-02.csv.gz"] == ("failed", "header only: no data rows")
    assert status["listings_2020-01-03.csv.gz"][1].startswith("truncated or corrupt gzip")
    ledger = {r["file_name"]: r["status"] for r in lakehouse.read(LANDING_FILES).collect()}
    assert ledger == {name: s for name, (s, _) in status.items()}
    assert lakehouse.read(BRONZE).count() == 5425


def test_failed_files_are_recorded_once(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    (Path(lakehouse.landing_path) / "listings_2020-01-01.csv").write_bytes(b"")
    assert [f["status"] for f in run_ingestion(lakehouse).files] == ["failed"]
    assert run_ingestion(lakehouse).files == []
    assert lakehouse.read(LANDING_FILES).count() == 1
