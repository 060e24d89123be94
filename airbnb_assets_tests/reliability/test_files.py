"""Bad files in the landing zone: odd encodings, foreign names, wrong compression, renamed columns.

Each hostile file is built from the first rows of a shipped snapshot with one small transform, and
after each one bronze and the ledger must still open with ``deltalake`` (no Spark).
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from deltalake import DeltaTable

from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.ingest.autoloader import run_ingestion
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, LANDING_FILES
from airbnb_assets.silver.assets import COLUMNS_CHECK, silver_listings
from airbnb_assets_tests.conftest import MAC_ROMAN, SNAPSHOT_FILES, snapshot_file

ROWS = 200
ACCENTS = {"name": "Café crème by the park", "host_name": "José Muñoz", "view": "Sunny 270° view"}


def snapshot_rows(day: str = "2019-10-14", rows: int = ROWS) -> list[list[str]]:
    """The header and first ``rows`` data rows of a shipped UTF-8 snapshot."""
    with gzip.open(snapshot_file(day), "rt", encoding="utf-8", newline="") as fh:
        header, *body = list(csv.reader(fh))
    return [header, *body[:rows]]


def csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV text with LF line ends (as the shipped UTF-8 snapshots have)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def land(lakehouse: LakehouseResource, name: str, data: bytes) -> Path:
    """Write ``data`` as ``name`` into the landing zone."""
    path = Path(lakehouse.landing_path) / name
    path.write_bytes(data)
    return path


def ledger(lakehouse: LakehouseResource) -> dict[str, dict[str, Any]]:
    """The ledger read with deltalake, by file name (it must stay readable without Spark)."""
    rows = DeltaTable(lakehouse.path(LANDING_FILES)).to_pandas().to_dict("records")
    return {r["file_name"]: r for r in rows}


def bronze(lakehouse: LakehouseResource) -> dict[str, dict[str, dict[str, Any]]]:
    """Bronze read with deltalake, by landed file name and listing id; its column names are clean."""
    frame = DeltaTable(lakehouse.path(BRONZE)).to_pandas()
    assert [c for c in frame.columns if not c.isprintable()] == []
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(Path(row["_source_file"]).name, {})[row["id"]] = row
    return out


def test_utf16_file_is_decoded_and_bronze_stays_readable(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    rows = snapshot_rows()
    text = csv_text(rows)
    land(lakehouse, "listings_2019-10-14.csv", text.encode("utf-16"))  # BOM, little endian
    land(lakehouse, "listings_2019-10-15.csv.gz", gzip.compress(text.encode("utf-32")))  # BOM
    land(lakehouse, "listings_2019-10-16.csv", text.encode("utf-16-le"))  # no BOM: NUL in the header
    report = {f["file_name"]: f for f in run_ingestion(lakehouse).files}

    assert [report[n]["status"] for n in sorted(report)] == ["ingested", "ingested", "failed"]
    assert report["listings_2019-10-14.csv"]["encoding"] == "UTF-16"
    assert report["listings_2019-10-15.csv.gz"]["encoding"] == "UTF-32"
    reason = report["listings_2019-10-16.csv"]["reason"]
    assert reason.startswith("header has control characters (U+0000")
    assert report["listings_2019-10-14.csv"]["rows"] == ROWS
    assert report["listings_2019-10-14.csv"]["columns"] == rows[0]
    # Spark decoded what Python's csv module decodes, non-ASCII text included.
    tables = bronze(lakehouse)
    assert sorted(tables) == ["listings_2019-10-14.csv", "listings_2019-10-15.csv.gz"]
    non_ascii = [r for r in rows[1:] if not r[1].isascii()]
    assert non_ascii, "the sample has non-ASCII names"
    for by_id in tables.values():
        assert len(by_id) == ROWS
        assert {c for c in by_id[rows[1][0]] if not c.startswith("_")} == set(rows[0])
        for row in [*rows[1:6], *non_ascii]:
            assert [by_id[row[0]][c] or "" for c in rows[0]] == row
    assert ledger(lakehouse)["listings_2019-10-16.csv"]["status"] == "failed"


def test_cp1252_accents_survive(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    rows = snapshot_rows()
    header = rows[0]
    name, host = header.index("name"), header.index("host_name")
    rows[1][name], rows[1][host] = ACCENTS["name"], ACCENTS["host_name"]
    rows[2][name] = f"{ACCENTS['view']}, Mike’s place"  # ’ is 0x92 in cp1252, not in Latin-1
    # Rows with characters cp1252 cannot encode (emoji, CJK) are left out.
    text = csv_text([r for i, r in enumerate(rows) if i < 3 or all(v.isascii() for v in r)])
    land(lakehouse, "listings_2019-10-14.csv", text.encode("cp1252"))
    land(lakehouse, "listings_2019-10-15.csv", text.replace("’", "'").encode("latin-1"))
    report = {f["file_name"]: f for f in run_ingestion(lakehouse).files}

    assert {n: (f["status"], f["encoding"]) for n, f in report.items()} == {
        "listings_2019-10-14.csv": ("ingested", "windows-1252"),
        "listings_2019-10-15.csv": ("ingested", "windows-1252"),  # Latin-1 text reads identically
    }
    assert {n: r["encoding"] for n, r in ledger(lakehouse).items()} == {n: "windows-1252" for n in report}
    tables = bronze(lakehouse)
    first, second = rows[1][0], rows[2][0]
    for file_name, apostrophe in [("listings_2019-10-14.csv", "’"), ("listings_2019-10-15.csv", "'")]:
        by_id = tables[file_name]
        assert (by_id[first]["name"], by_id[first]["host_name"]) == (ACCENTS["name"], ACCENTS["host_name"])
        assert by_id[second]["name"] == f"{ACCENTS['view']}, Mike{apostrophe}s place"
        assert {i for i, r in by_id.items() if not (r["name"] or "").isascii()} == {first, second}
    # Mac Roman is chosen by evidence, not by default: only the two spreadsheet re-saves need it.
    chosen = {p.name: probe_file(str(p)).encoding for p in SNAPSHOT_FILES}
    assert chosen == {p.name: "x-MacRoman" if p.name in MAC_ROMAN else "UTF-8" for p in SNAPSHOT_FILES}


def test_renamed_column_is_reported(resources: dict, lakehouse: LakehouseResource) -> None:
    rows = snapshot_rows()
    land(lakehouse, "listings_2019-10-14.csv", csv_text(rows).encode("utf-8"))
    renamed = [["accommodation_kind" if c == "room_type" else c for c in rows[0]], *rows[1:]]
    land(lakehouse, "listings_2019-11-01.csv", csv_text(renamed).encode("utf-8"))
    result = dg.materialize_to_memory([bronze_ingest, silver_listings], resources=resources)
    assert result.success

    files = ledger(lakehouse)
    before, after = files["listings_2019-10-14.csv"], files["listings_2019-11-01.csv"]
    assert "room_type" not in list(before["missing_columns"]) and list(before["new_columns"]) == []
    assert "room_type" in list(after["missing_columns"])
    assert list(after["new_columns"]) == ["accommodation_kind"]
    assert set(after["missing_columns"]) - set(before["missing_columns"]) == {"room_type"}

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    feature = checks["expect_feature_present_room_type"]
    assert feature.passed is False and feature.severity == dg.AssetCheckSeverity.ERROR
    columns = checks[COLUMNS_CHECK]
    assert columns.passed is False and columns.severity == dg.AssetCheckSeverity.WARN
    assert columns.metadata["dropped_columns"].value == "room_type"
    files = {r.data["file_name"]: r.data for r in columns.metadata["files"].records}
    assert files["listings_2019-11-01.csv"]["new_columns"] == "accommodation_kind"
    assert [len(t) for t in bronze(lakehouse).values()] == [ROWS, ROWS]


def test_foreign_file_is_recorded_as_ignored(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    land(lakehouse, "foo.csv", b"a,b\n1,2\n")
    land(lakehouse, "listings_2019-13-01.csv", csv_text(snapshot_rows(rows=5)).encode("utf-8"))  # no such day
    land(lakehouse, ".listings_2019-10-14.csv.tmp", b"being landed")  # hidden: not a landed file yet
    land(lakehouse, "listings_2019-10-14.csv", csv_text(snapshot_rows()).encode("utf-8"))
    # A name ending in a newline ("$" would match before it) and one in fullwidth digits: not
    # snapshot names, so ignored, rather than failing bronze on every later run.
    data = csv_text(snapshot_rows(rows=5)).encode("utf-8")
    land(lakehouse, "listings_2019-10-15.csv\n", data)
    land(lakehouse, "listings_\uff12\uff10\uff11\uff19-10-16.csv", data)
    first = {f["file_name"]: (f["status"], f["reason"]) for f in run_ingestion(lakehouse).files}
    reason = "file name does not match listings_YYYY-MM-DD[_suffix].csv[.gz]"
    assert first == {
        "foo.csv": ("ignored", reason),
        "listings_2019-13-01.csv": ("ignored", reason),
        "listings_2019-10-15.csv\n": ("ignored", reason),
        "listings_\uff12\uff10\uff11\uff19-10-16.csv": ("ignored", reason),
        "listings_2019-10-14.csv": ("ingested", None),
    }
    assert run_ingestion(lakehouse).files == []  # recorded once
    assert {n: r["status"] for n, r in ledger(lakehouse).items()} == {n: s for n, (s, _) in first.items()}
    assert ledger(lakehouse)["foo.csv"]["size_bytes"] == 8
    assert list(bronze(lakehouse)) == ["listings_2019-10-14.csv"]


def test_gzip_content_with_a_csv_name_fails_clearly(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    land(lakehouse, "listings_2019-10-14.csv", gzip.compress(csv_text(snapshot_rows()).encode("utf-8")))
    land(lakehouse, "listings_2019-10-15.csv", csv_text(snapshot_rows(rows=10)).encode("utf-8"))
    report = {f["file_name"]: f for f in run_ingestion(lakehouse).files}
    bad = report["listings_2019-10-14.csv"]
    assert bad["status"] == "failed"
    assert bad["reason"] == "gzip content with a .csv name (rename it .csv.gz and land it again)"
    assert report["listings_2019-10-15.csv"]["status"] == "ingested"
    assert ledger(lakehouse)["listings_2019-10-14.csv"]["reason"] == bad["reason"]
    assert {n: len(t) for n, t in bronze(lakehouse).items()} == {"listings_2019-10-15.csv": 10}


def semicolon_text(rows: list[list[str]]) -> str:
    """Rows as a spreadsheet's semicolon export writes them."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_semicolon_export_is_refused_whole_and_adds_no_column(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    rows = snapshot_rows()
    land(lakehouse, "listings_2019-10-14.csv", csv_text(rows).encode("utf-8"))
    land(lakehouse, "listings_2019-10-15.csv", semicolon_text(rows).encode("utf-8"))
    report = {f["file_name"]: f for f in run_ingestion(lakehouse).files}

    bad = report["listings_2019-10-15.csv"]
    assert bad["status"] == "failed" and bad["rows"] is None
    assert bad["reason"].startswith("header has no 'id' column: not a comma-separated listings file")
    assert f"its header has {len(rows[0]) - 1} semicolons" in bad["reason"]
    assert ledger(lakehouse)["listings_2019-10-15.csv"]["reason"] == bad["reason"]
    assert {n: len(t) for n, t in bronze(lakehouse).items()} == {"listings_2019-10-14.csv": ROWS}
    columns = {
        c for c in DeltaTable(lakehouse.path(BRONZE)).schema().to_arrow().names if not c.startswith("_")
    }
    assert columns == set(rows[0])  # no mangled header became a column


def test_ledger_says_what_bronze_committed(
    spark,  # type: ignore[no-untyped-def]
    lakehouse: LakehouseResource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bronze append that commits and then raises (a lost acknowledgement) is ``ingested``."""
    real_append = LakehouseResource.append

    def flaky_append(self, df, table, *, txn=None) -> None:  # type: ignore[no-untyped-def]
        nth_file = txn[1] % 10_000 if table == BRONZE and txn is not None else None
        if nth_file == 2:
            raise RuntimeError("disk full")  # before the commit: nothing in bronze
        real_append(self, df, table, txn=txn)
        if nth_file == 0:
            raise RuntimeError("connection reset")  # after the commit

    monkeypatch.setattr(LakehouseResource, "append", flaky_append)
    for day, rows in [("2019-10-14", ROWS), ("2019-10-15", 10), ("2019-10-16", 5)]:
        land(lakehouse, f"listings_{day}.csv", csv_text(snapshot_rows(rows=rows)).encode("utf-8"))
    report = {f["file_name"]: (f["status"], f["rows"], f["reason"]) for f in run_ingestion(lakehouse).files}
    assert report == {
        "listings_2019-10-14.csv": ("ingested", ROWS, None),
        "listings_2019-10-15.csv": ("ingested", 10, None),
        "listings_2019-10-16.csv": ("failed", None, "unreadable: disk full"),
    }
    assert {n: r["status"] for n, r in ledger(lakehouse).items()} == {n: s for n, (s, _, _) in report.items()}
    assert {n: len(t) for n, t in bronze(lakehouse).items()} == {
        "listings_2019-10-14.csv": ROWS,
        "listings_2019-10-15.csv": 10,
    }
