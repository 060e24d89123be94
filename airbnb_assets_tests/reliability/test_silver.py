"""Silver under bad deliveries: a fail rule on a few rows or a whole file, and a corrected re-delivery.

Small files (a few hundred rows of a shipped snapshot) are landed and run through bronze, silver
and gold with ``materialize_to_memory``; held files are released or rejected with the CLI.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import functions as F

from airbnb_assets.cli import main
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.platform.incremental import BatchContext
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.locks import WriterLock
from airbnb_assets.platform.snapshots import INGESTED, ledger_rows
from airbnb_assets.platform.tables import (
    BRONZE,
    DATA_QUALITY,
    GOLD,
    LANDING_FILES,
    SILVER,
    SILVER_QUARANTINE,
)
from airbnb_assets.silver.assets import silver_listings
from airbnb_assets.silver.redelivery import SourceFile, plan_redelivery
from airbnb_assets.silver.step import process_bronze_batch
from airbnb_assets_tests.conftest import last_spark_job, snapshot_file

ROWS = 300
SOURCE_DAY = "2019-10-14"  # UTF-8, id and price columns as the model expects
HELD_100 = "held: id_not_null failed on 100.0% of rows (> 1%)"


def snapshot_rows(rows: int = ROWS, start: int = 0) -> tuple[list[str], list[list[str]]]:
    """Header and ``rows`` data rows (from ``start``) of the shipped snapshot of :data:`SOURCE_DAY`."""
    with gzip.open(snapshot_file(SOURCE_DAY), "rt", encoding="utf-8", newline="") as fh:
        header, *body = list(csv.reader(fh))
    return header, [list(r) for r in body[start : start + rows]]


def land(lakehouse: LakehouseResource, name: str, header: list[str], body: list[list[str]]) -> None:
    """Write ``header`` + ``body`` as ``name`` into the landing zone."""
    with open(Path(lakehouse.landing_path) / name, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *body])


def without_ids(header: list[str], body: list[list[str]], rows: range) -> list[list[str]]:
    """``body`` with an empty ``id`` in the given row positions."""
    i = header.index("id")
    return [[*r[:i], "", *r[i + 1 :]] if n in rows else r for n, r in enumerate(body)]


def run(resources: dict) -> dg.ExecuteInProcessResult:
    """One run of bronze, silver and gold (unpartitioned, incremental)."""
    return dg.materialize_to_memory(
        [bronze_ingest, silver_listings, gold_listing_features], resources=resources, raise_on_error=False
    )


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's check evaluations by check name."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def count_by(lakehouse: LakehouseResource, table, column: str = "snapshot_date") -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows per value of ``column`` (as text)."""
    df = lakehouse.read(table)
    return {str(r[0]): r[1] for r in df.groupBy(column).count().collect()}


def assert_reconciles(lakehouse: LakehouseResource) -> None:
    """bronze rows == silver + quarantine rows for every snapshot date."""
    bronze = count_by(lakehouse, BRONZE, "_snapshot_date")
    silver, quarantine = count_by(lakehouse, SILVER), count_by(lakehouse, SILVER_QUARANTINE)
    assert {d: silver.get(d, 0) + quarantine.get(d, 0) for d in bronze} == bronze


def ledger(lakehouse: LakehouseResource) -> set[tuple[str, str]]:
    """(file name, status) pairs of ``ops/landing_files``."""
    return {(r[0], r[1]) for r in lakehouse.read(LANDING_FILES).select("file_name", "status").collect()}


def test_fail_rule_quarantines_a_few_rows(resources: dict, lakehouse: LakehouseResource) -> None:
    header, body = snapshot_rows()
    land(lakehouse, "listings_2020-01-24.csv", header, without_ids(header, body, range(10, 11)))
    result = run(resources)
    assert result.success  # 1 of 300 rows (0.33 %) is within the rule's 1 %
    check = checks(result)["expect_id_not_null"]
    assert check.passed and check.metadata["rows_failed"].value == 1
    assert check.metadata["held_files"].value == "none"
    quarantine = lakehouse.read(SILVER_QUARANTINE)
    offender = quarantine.filter(F.col("id").isNull()).collect()
    assert [(r["_quarantine_reason"], r["_held"]) for r in offender] == [("id_not_null", False)]
    assert quarantine.filter("_held").count() == 0
    silver = lakehouse.read(SILVER)
    assert silver.filter(F.col("id").isNull()).count() == 0
    assert silver.count() + quarantine.count() == ROWS
    assert lakehouse.read(GOLD).count() == silver.count()  # downstream ran
    dq = lakehouse.read(DATA_QUALITY).filter("rule = 'id_not_null'").collect()
    assert [(r["failed_rows"], r["quarantined_rows"] >= 1, r["committed"]) for r in dq] == [(1, True, True)]
    assert_reconciles(lakehouse)


def test_fail_rule_holds_one_file_not_the_next_day(
    resources: dict,
    lakehouse: LakehouseResource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    header, body = snapshot_rows()
    land(lakehouse, "listings_2019-10-14.csv", header, body)  # clean, same batch
    land(lakehouse, "listings_2019-11-01.csv", header, without_ids(header, body, range(ROWS)))
    land(lakehouse, "listings_2019-11-02.csv", header, without_ids(header, body, range(15)))  # 5 %
    first = run(resources)
    assert not first.success  # the blocking check failed: gold waits
    assert set(count_by(lakehouse, SILVER)) == {"2019-10-14"}  # the clean file committed
    check = checks(first)["expect_id_not_null"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["held_files"].value == "listings_2019-11-01.csv, listings_2019-11-02.csv"
    assert "airbnb release listings_2019-11-01.csv" in check.metadata["next_step"].value
    assert checks(first)["rows_reconcile_with_bronze"].passed
    assert not lakehouse.exists(GOLD)
    held = lakehouse.read(SILVER_QUARANTINE).filter("_held")
    reasons = {
        (str(r[0]), r[1]): r[2] for r in held.groupBy("snapshot_date", "_quarantine_reason").count().collect()
    }
    assert reasons == {
        ("2019-11-01", HELD_100): ROWS,
        ("2019-11-02", "held: id_not_null failed on 5.0% of rows (> 1%)"): ROWS,
    }
    dq = lakehouse.read(DATA_QUALITY).filter("rule = 'id_not_null'")
    committed = {str(r["snapshot_date"]): (r["failed_rows"], r["committed"]) for r in dq.collect()}
    assert committed == {"2019-10-14": (0, True), "2019-11-01": (ROWS, False), "2019-11-02": (15, False)}

    # The next day's clean file is not blocked by the held ones.
    land(lakehouse, "listings_2019-12-04.csv", *snapshot_rows(start=ROWS))
    second = run(resources)
    assert second.success and checks(second)["expect_id_not_null"].passed
    assert set(count_by(lakehouse, GOLD)) == {"2019-10-14", "2019-12-04"}

    # The operator releases one held file and rejects the other (under the writer lock).
    monkeypatch.setenv("AIRBNB_LAKEHOUSE_ROOT", str(tmp_path / "lakehouse"))  # the CLI's lakehouse
    capsys.readouterr()
    holder = WriterLock(lakehouse.root)
    holder.acquire({"run_id": "busy-run"})
    try:
        assert main(["release", "listings_2019-11-02.csv"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "busy-run" in err[0]
    finally:
        holder.release()
    assert main(["release", "listings_2019-11-02.csv"]) == 0
    released = capsys.readouterr().out.strip().splitlines()
    assert len(released) == 1 and released[0].startswith("released listings_2019-11-02.csv: ")
    assert main(["reject", "listings_2019-11-01.csv", "--reason", "ids missing at the source"]) == 0
    assert capsys.readouterr().out.strip().startswith("rejected listings_2019-11-01.csv: 300 rows")
    assert main(["release", "listings_2019-11-01.csv"]) == 2  # nothing held any more
    assert "has no held rows" in capsys.readouterr().err

    quarantine = lakehouse.read(SILVER_QUARANTINE)
    assert quarantine.filter("_held").count() == 0
    rejected = quarantine.filter("snapshot_date = DATE'2019-11-01'").select("_quarantine_reason").distinct()
    assert [r[0] for r in rejected.collect()] == ["rejected by operator: ids missing at the source"]
    kept = quarantine.filter("snapshot_date = DATE'2019-11-02' AND _quarantine_reason LIKE '%id_not_null%'")
    assert kept.count() == 15  # the offending rows stay, with the rule name
    silver = lakehouse.read(SILVER)
    ids = {
        d: {r[0] for r in silver.filter(f"snapshot_date = DATE'{d}'").select("id").collect()}
        for d in ("2019-10-14", "2019-11-02")
    }
    assert ids["2019-11-02"] == ids["2019-10-14"] - {int(r[0]) for r in body[:15]}  # the clean file minus 15
    silver_e = len(ids["2019-11-02"])
    assert released[0].startswith(f"released listings_2019-11-02.csv: {silver_e} of 300 rows")
    assert {("listings_2019-11-02.csv", "released"), ("listings_2019-11-01.csv", "rejected")} <= ledger(
        lakehouse
    )
    assert_reconciles(lakehouse)

    third = run(resources)  # gold takes the released rows through its stream
    assert third.success
    assert count_by(lakehouse, GOLD)["2019-11-02"] == silver_e
    assert "2019-11-01" not in count_by(lakehouse, GOLD)


def test_redelivery_replaces_the_snapshot(resources: dict, lakehouse: LakehouseResource) -> None:
    header, body = snapshot_rows()
    land(lakehouse, "listings_2020-01-24.csv", header, body)
    assert run(resources).success
    first_silver = lakehouse.read(SILVER).count()

    id_col, price_col = header.index("id"), header.index("price")
    corrected = {r[id_col]: str(50 + n) for n, r in enumerate(body[:100])}
    removed = {r[id_col] for r in body[200:220]}
    v2 = [
        [*r[:price_col], corrected.get(r[id_col], r[price_col]), *r[price_col + 1 :]]
        for r in body
        if r[id_col] not in removed
    ]
    land(lakehouse, "listings_2020-01-24_v2.csv", header, v2)
    result = run(resources)
    assert result.success
    assert checks(result)["rows_reconcile_with_bronze"].passed
    assert checks(result)["one_row_per_listing_snapshot"].passed

    quarantine = lakehouse.read(SILVER_QUARANTINE)
    v2_quarantined = {
        str(r["id"]) for r in quarantine.filter(F.col("_source_file").endswith("_v2.csv")).collect()
    }
    assert not any(
        "unique_listing_snapshot" in r[0] for r in quarantine.select("_quarantine_reason").collect()
    )
    silver = {str(r["id"]): r["price"] for r in lakehouse.read(SILVER).collect()}
    expected = {r[id_col]: float(r[price_col]) for r in v2 if r[id_col] not in v2_quarantined}
    assert silver == expected  # the v2 content: corrected prices applied, removed listings gone
    applied = [i for i, price in corrected.items() if silver.get(i) == float(price)]
    assert len(applied) == len(set(corrected) - v2_quarantined) >= 95
    assert not removed & set(silver)
    gold = {str(r["listing_id"]): r["price"] for r in lakehouse.read(GOLD).collect()}
    assert gold == silver
    superseded = quarantine.filter("_quarantine_reason = 'superseded by listings_2020-01-24_v2.csv'")
    assert superseded.count() == first_silver
    assert ("listings_2020-01-24.csv", "superseded") in ledger(lakehouse)
    assert_reconciles(lakehouse)

    # A retried micro-batch (same stream and batch id) doubles nothing.
    tables = {
        t.name: lakehouse.read(t).count() for t in (SILVER, SILVER_QUARANTINE, DATA_QUALITY, LANDING_FILES)
    }
    tag = lakehouse.read(SILVER).select("_batch").first()[0]
    stream_id, batch_id = tag.rsplit(":", 1)
    bronze_v2 = lakehouse.read(BRONZE).filter(F.col("_source_file").endswith("_v2.csv"))
    process_bronze_batch(lakehouse, bronze_v2, BatchContext(stream_id, int(batch_id)))
    assert {
        t.name: lakehouse.read(t).count() for t in (SILVER, SILVER_QUARANTINE, DATA_QUALITY, LANDING_FILES)
    } == tables


def test_redelivery_plan_scans_silver_only_for_a_date_the_ledger_has_another_file_of(
    resources: dict, lakehouse: LakehouseResource
) -> None:
    header, body = snapshot_rows(50)
    land(lakehouse, "listings_2020-01-24.csv", header, body)
    assert run(resources).success
    (first,) = {r[0] for r in lakehouse.read(SILVER).select("_source_file").collect()}
    second = first.replace(".csv", "_v2.csv")

    def plan(path: str, day: dt.date) -> tuple[dict[str, str], int]:
        before = last_spark_job(lakehouse)
        ingested = ledger_rows(lakehouse, INGESTED, ["file_path"])
        superseded = plan_redelivery(lakehouse, [SourceFile(day, path)], ingested).superseded
        return superseded, last_spark_job(lakehouse) - before

    # A new date, or the file silver already holds: planned from the ledger, no Spark job.
    assert plan(first.replace("2020-01-24", "2020-02-24"), dt.date(2020, 2, 24)) == ({}, 0)
    assert plan(first, dt.date(2020, 1, 24)) == ({}, 0)
    # Another file of a date the ledger has: silver and the quarantine are scanned for its rows.
    superseded, scans = plan(second, dt.date(2020, 1, 24))
    assert superseded == {first: second} and scans >= 2


def test_decimal_comma_prices_are_quarantined_not_read_as_hundreds(
    resources: dict, lakehouse: LakehouseResource
) -> None:
    """``45,00 $`` (a European export's price) used to become 4500 and pass ``price_in_range``."""
    header, body = snapshot_rows()
    i = header.index("price")
    european = range(0, ROWS, 10)  # 30 rows written the European way
    rows = [[*r[:i], f"{r[i]},00 $", *r[i + 1 :]] if n in european else r for n, r in enumerate(body)]
    land(lakehouse, "listings_2020-01-25.csv", header, rows)
    assert run(resources).success
    quarantine = lakehouse.read(SILVER_QUARANTINE).collect()
    assert sorted(r["_quarantine_reason"] for r in quarantine) == ["values_parse"] * len(european)
    assert all(r["price"] is None and ",00 $" in r["_bronze_record"] for r in quarantine)
    silver = {r["id"]: r["price"] for r in lakehouse.read(SILVER).select("id", "price").collect()}
    kept = [r for n, r in enumerate(body) if n not in european]
    assert silver == {int(r[0]): float(r[i]) if r[i] else None for r in kept}  # the others, as written
    assert_reconciles(lakehouse)


def test_a_batchs_cached_rows_are_on_disk_not_in_the_heap_and_released(
    resources: dict, lakehouse: LakehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parsed and judged rows (raw JSON included) are cached on local disk, and unpersisted."""
    import airbnb_assets.silver.step as step

    sc = lakehouse.session.sparkContext

    def cached() -> dict[int, tuple[int, int]]:
        """Cached RDDs other than Delta's own snapshots: id -> (bytes in memory, bytes on disk)."""
        infos = sc._jsc.sc().getRDDStorageInfo()
        return {i.id(): (i.memSize(), i.diskSize()) for i in infos if not i.name().startswith("Delta")}

    before = set(cached())
    seen: dict[int, tuple[int, int]] = {}
    real = step.apply_redelivery

    def apply_and_look(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.update({k: v for k, v in cached().items() if k not in before})  # both passes are done
        return real(*args, **kwargs)

    monkeypatch.setattr(step, "apply_redelivery", apply_and_look)
    header, body = snapshot_rows()
    land(lakehouse, "listings_2020-01-24.csv", header, body)
    assert run(resources).success
    assert len(seen) == 2  # the parsed rows and the judged rows
    assert all(memory == 0 and disk > 0 for memory, disk in seen.values()), seen
    assert not set(seen) & set(cached())  # released when the batch is written
    assert lakehouse.read(SILVER).count() + lakehouse.read(SILVER_QUARANTINE).count() == ROWS
