"""Bronze parsing of the real snapshots: by header, every row, readable text, rescued data."""

from pathlib import Path

import pytest

from airbnb_assets.ingest.bronze import read_landed_file
from airbnb_assets.ingest.files import probe_file
from airbnb_assets_tests.conftest import MAC_ROMAN, SNAPSHOT_FILES, csv_data_rows


@pytest.mark.parametrize("path", SNAPSHOT_FILES, ids=lambda p: p.name)
def test_bronze_rows_equal_file_data_rows(spark, path: Path) -> None:  # type: ignore[no-untyped-def]
    expected = csv_data_rows(path)
    df = read_landed_file(spark, probe_file(str(path))).cache()
    assert df.count() == len(expected)
    assert df.filter("_rescued_data IS NOT NULL").count() == 0
    assert dict(df.dtypes)["price"] == "string"
    last = df.columns[df.columns.index("_rescued_data") - 1]
    assert df.filter(df[last].endswith("\r")).count() == 0  # CRLF handled
    header = probe_file(str(path)).columns
    price_at = header.index("price")
    by_id = {r["id"]: r["price"] for r in df.select("id", "price").collect()}
    for row in expected[:: max(1, len(expected) // 50)]:  # a sample of rows, mapped by header
        assert by_id[row[0]] == (row[price_at] or None)
    df.unpersist()


@pytest.mark.parametrize("name", sorted(MAC_ROMAN))
def test_mac_roman_files_decode_without_mojibake(spark, name: str) -> None:  # type: ignore[no-untyped-def]
    path = next(p for p in SNAPSHOT_FILES if p.name == name)
    rows = csv_data_rows(path)  # decoded by Python's mac_roman codec
    non_ascii = {r[0]: r[1] for r in rows if any(ord(c) > 127 for c in r[1])}
    assert non_ascii, "the Mac Roman files have non-ASCII names"
    df = read_landed_file(spark, probe_file(str(path)))
    got = {r["id"]: r["name"] for r in df.filter(df.id.isin(list(non_ascii))).collect()}
    assert got == non_ascii
    assert not any("\ufffd" in v for v in got.values())  # no replacement characters added


def test_price_strings_kept_verbatim(spark) -> None:  # type: ignore[no-untyped-def]
    path = next(p for p in SNAPSHOT_FILES if "2019-06-02" in p.name)
    df = read_landed_file(spark, probe_file(str(path)))
    assert df.filter(df.price.startswith("$")).count() == 7575
    assert df.filter(df.price == "$2,500.00 ").count() + df.filter(df.price == "$170.00 ").count() > 0


def test_row_with_extra_fields_is_rescued(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "listings_2020-02-01.csv"
    path.write_text('id,name,price\n1,"a, quoted",10\n2,b,20,EXTRA\n3,c,30\n', encoding="utf-8")
    rows = {r["id"]: r for r in read_landed_file(spark, probe_file(str(path))).collect()}
    assert len(rows) == 3
    assert rows["1"]["name"] == "a, quoted" and rows["1"]["_rescued_data"] is None
    assert rows["2"]["name"] == "b" and rows["2"]["price"] == "20"
    assert "EXTRA" in rows["2"]["_rescued_data"]
