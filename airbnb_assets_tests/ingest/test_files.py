"""The file probe: naming, encodings, and bad files recorded with a reason."""

import datetime as dt
import gzip
from pathlib import Path

import pytest

from airbnb_assets.ingest import files
from airbnb_assets.ingest.files import clean_column_names, probe_file, snapshot_date_of
from airbnb_assets_tests.conftest import MAC_ROMAN, SNAPSHOT_FILES


@pytest.mark.parametrize("path", SNAPSHOT_FILES, ids=lambda p: p.name)
def test_real_snapshots_probe_clean(path: Path) -> None:
    probe = probe_file(str(path))
    assert probe.error is None
    assert probe.encoding == ("x-MacRoman" if path.name in MAC_ROMAN else "UTF-8")
    assert probe.columns[0] == "id"
    assert len(probe.sha256) == 64


def test_snapshot_date_from_name() -> None:
    assert snapshot_date_of("listings_2019-10-14.csv.gz") == dt.date(2019, 10, 14)
    assert snapshot_date_of("listings_2019-10-14_redelivery.csv") == dt.date(2019, 10, 14)
    assert snapshot_date_of("listings_2019-13-01.csv") is None
    assert snapshot_date_of("calendar_2019-10-14.csv") is None


def test_empty_header_only_and_truncated_files(tmp_path: Path) -> None:
    empty = tmp_path / "listings_2020-01-01.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "listings_2020-01-02.csv.gz"
    header_only.write_bytes(gzip.compress(b"id,name,price\r\n"))
    real = SNAPSHOT_FILES[0].read_bytes()
    truncated = tmp_path / "listings_2020-01-03.csv.gz"
    truncated.write_bytes(real[: len(real) // 2])
    assert probe_file(str(empty)).error == "empty file: no header and no rows"
    assert probe_file(str(header_only)).error == "header only: no data rows"
    assert probe_file(str(truncated)).error.startswith("truncated or corrupt gzip")


def test_header_and_rows_split_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_CHUNK", 4)
    path = tmp_path / "listings_2020-01-04.csv"
    path.write_bytes(b"id,price\n\n1,2\n")
    probe = probe_file(str(path))
    assert probe.error is None and probe.columns == ["id", "price"]
    path.write_bytes(b"id,price\n   \n")
    assert probe_file(str(path)).error == "header only: no data rows"


def test_clean_column_names() -> None:
    assert clean_column_names(["\ufeffid", " price ", "a b", "", "id"]) == [
        "id",
        "price",
        "a_b",
        "_c3",
        "id_1",
    ]


def test_a_header_without_id_is_not_a_listings_file(tmp_path: Path) -> None:
    path = tmp_path / "listings_2020-01-05.csv"
    path.write_bytes(b"id\tname\tprice\tbeds\n1\tFlat\t$10\t1\n")
    reason = "header has no 'id' column: not a comma-separated listings file"
    assert probe_file(str(path)).error == (
        f"{reason} (its header has 3 tabs and 0 commas: a tab-separated export? "
        "Re-export it with commas and land it again)"
    )
    path.write_bytes(b"listing,name,price\n1,Flat,$10\n")
    assert probe_file(str(path)).error == reason
