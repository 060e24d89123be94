"""Writes of a few records (ledger, quality, drift rows): delta-rs on this disk, Spark elsewhere."""

import datetime as dt

import pytest

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.record_writes import predicate_sql
from airbnb_assets.platform.tables import DRIFT_METRICS, LANDING_FILES
from airbnb_assets_tests.conftest import last_spark_job

DAY, NEXT = dt.date(2019, 10, 14), dt.date(2019, 11, 14)


def _ledger_row(name: str, recorded: dt.datetime) -> dict:
    return {"file_path": f"/landing/{name}", "file_name": name, "status": "ingested", "recorded_at": recorded}


def test_a_few_rows_are_appended_without_spark_once_per_txn_whichever_writer_committed_it(
    lakehouse: LakehouseResource,
) -> None:
    """``append_rows`` (the ledger's and the quality records' writes) on a table on this disk."""
    at = dt.datetime(2019, 10, 14, 23, 30)  # naive UTC
    lakehouse.append_rows([_ledger_row("a.csv", at)], LANDING_FILES, txn=("ingest", 0))  # creates it: Spark
    before = last_spark_job(lakehouse)
    lakehouse.append_rows(
        [_ledger_row("b.csv", at), _ledger_row("c.csv", at)], LANDING_FILES, txn=("ingest", 1)
    )
    lakehouse.append_rows([_ledger_row("b.csv", at)], LANDING_FILES, txn=("ingest", 1))  # a retry: skipped
    lakehouse.append_rows([_ledger_row("a.csv", at)], LANDING_FILES, txn=("ingest", 0))  # Spark's, too
    lakehouse.append_rows([_ledger_row("d.csv", at)], LANDING_FILES)  # no txn: always appended
    assert last_spark_job(lakehouse) == before  # delta-rs committed them
    assert lakehouse.version(LANDING_FILES) == 2
    # Spark sees delta-rs's rows and app transaction, and delta-rs sees Spark's.
    names = lakehouse.read(LANDING_FILES).selectExpr("file_name", "cast(recorded_at as string)").collect()
    assert sorted(names) == [(n, "2019-10-14 23:30:00") for n in ("a.csv", "b.csv", "c.csv", "d.csv")]
    for name, txn in (("x.csv", ("ingest", 1)), ("e.csv", ("silver", 4))):  # Spark's own idempotent append
        lakehouse.append(
            lakehouse.create_frame([_ledger_row(name, at)], LANDING_FILES), LANDING_FILES, txn=txn
        )
    lakehouse.append_rows([_ledger_row("x.csv", at)], LANDING_FILES, txn=("silver", 4))
    assert lakehouse.version(LANDING_FILES) == 3 and lakehouse.row_count(LANDING_FILES) == 5
    # Where the log is not on this disk (Databricks), Spark appends them, with the same txn check.
    by_spark = lakehouse.model_copy(update={"delta_rs": False})
    by_spark.append_rows([_ledger_row("x.csv", at)], LANDING_FILES, txn=("ingest", 1))
    by_spark.append_rows([_ledger_row("f.csv", at)], LANDING_FILES, txn=("ingest", 2))
    assert last_spark_job(lakehouse) > before and lakehouse.row_count(LANDING_FILES) == 6


def _drift_row(day: dt.date, report: str, column: str, score: float) -> dict:
    return {"run_date": day, "report": report, "column": column, "score": score}


def _drift(lakehouse: LakehouseResource) -> list[tuple]:
    rows = lakehouse.read(DRIFT_METRICS).select("run_date", "report", "column", "score").collect()
    return sorted(tuple(r) for r in rows)


def test_a_days_records_replace_only_the_matching_rows_without_spark(lakehouse: LakehouseResource) -> None:
    """``replace_partition_records`` (the drift rows and the prediction statistics of a day)."""
    stats = [("report", "=", "predictions")]
    lakehouse.replace_partition_records([_drift_row(DAY, "data", "a", 1.0)], DRIFT_METRICS, DAY, [])  # Spark
    before = last_spark_job(lakehouse)
    lakehouse.replace_partition_records([_drift_row(NEXT, "data", "a", 2.0)], DRIFT_METRICS, NEXT, [])
    lakehouse.replace_partition_records([_drift_row(DAY, "predictions", "n", 3.0)], DRIFT_METRICS, DAY, stats)
    # The drift report's rows of the day again: its earlier ones replaced, the statistics kept.
    others = [("report", "!=", "predictions")]
    data = [_drift_row(DAY, "data", "b", 4.0), _drift_row(DAY, "model", "mae", 5.0)]
    lakehouse.replace_partition_records(data, DRIFT_METRICS, DAY, others, txn=("drift", 7))
    lakehouse.replace_partition_records(data[:1], DRIFT_METRICS, DAY, others, txn=("drift", 7))  # a retry
    assert last_spark_job(lakehouse) == before
    assert _drift(lakehouse) == [
        (DAY, "data", "b", 4.0),
        (DAY, "model", "mae", 5.0),
        (DAY, "predictions", "n", 3.0),
        (NEXT, "data", "a", 2.0),
    ]
    version = lakehouse.version(DRIFT_METRICS)
    with pytest.raises(ValueError, match="a row outside"):  # as replaceWhere refuses it
        lakehouse.replace_partition_records([_drift_row(NEXT, "data", "c", 6.0)], DRIFT_METRICS, DAY, others)
    assert lakehouse.version(DRIFT_METRICS) == version
    # Spark does the same where the log is not on this disk.
    by_spark = lakehouse.model_copy(update={"delta_rs": False})
    by_spark.replace_partition_records([_drift_row(DAY, "predictions", "n", 8.0)], DRIFT_METRICS, DAY, stats)
    assert (DAY, "predictions", "n", 8.0) in _drift(lakehouse) and len(_drift(lakehouse)) == 4
    assert last_spark_job(lakehouse) > before


def test_the_delta_rs_predicate_quotes_its_literals() -> None:
    filters = [("run_date", "=", DAY), ("report", "!=", "it's"), ("column", "in", ["a", "b"])]
    expected = "run_date = '2019-10-14' AND report <> 'it''s' AND column IN ('a', 'b')"
    assert predicate_sql(filters) == expected
    with pytest.raises(ValueError, match="unsupported"):
        predicate_sql([("report", "like", "x")])
