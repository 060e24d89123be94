"""The lakehouse resource on real local Delta tables: paths, existence, versions, one-day replaces."""

import datetime as dt

import pytest
from pyspark.sql import functions as F

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, DRIFT_METRICS, GOLD, LANDING_FILES, PREDICTIONS, SILVER

DAYS = [dt.date(2017, 3, 2), dt.date(2017, 4, 2), dt.date(2017, 5, 2)]


def _predictions(lakehouse: LakehouseResource, day: dt.date, ids: range, price: float):  # type: ignore[no-untyped-def]
    rows = [
        {
            "listing_id": i,
            "snapshot_date": day,
            "prediction": price,
            "actual_price": None,
            "model_name": "airbnb_price",
            "model_version": "1",
            "run_date": day,
            "scored_at": dt.datetime(2020, 1, 1),
        }
        for i in ids
    ]
    return lakehouse.create_frame(rows, PREDICTIONS)


def _by_day(lakehouse: LakehouseResource) -> dict[dt.date, tuple[int, float]]:
    df = lakehouse.read(PREDICTIONS).groupBy("run_date").agg(F.count("*"), F.max("prediction"))
    return {r[0]: (r[1], r[2]) for r in df.collect()}


def test_locations_and_identifiers(lakehouse: LakehouseResource) -> None:
    root = lakehouse.root
    assert lakehouse.path(SILVER) == f"{root}/silver/listings"
    assert lakehouse.identifier(SILVER) == f"delta.`{root}/silver/listings`"
    assert lakehouse.checkpoint("gold") == f"{root}/_checkpoints/gold"
    assert lakehouse.artifacts.path("dashboard", "index.html") == f"{root}/_artifacts/dashboard/index.html"
    on_uc = lakehouse.model_copy(update={"catalog": "main_prod"})
    assert on_uc.identifier(SILVER) == "main_prod.silver.listings"


def test_existence_and_versions(lakehouse: LakehouseResource) -> None:
    assert not lakehouse.exists(PREDICTIONS)
    assert lakehouse.read_or_none(PREDICTIONS) is None and lakehouse.version(PREDICTIONS) is None
    lakehouse.append(_predictions(lakehouse, DAYS[0], range(3), 100.0), PREDICTIONS)
    assert lakehouse.exists(PREDICTIONS) and lakehouse.version(PREDICTIONS) == 0
    lakehouse.append(_predictions(lakehouse, DAYS[1], range(2), 100.0), PREDICTIONS)
    assert lakehouse.version(PREDICTIONS) == 1 and lakehouse.read_or_none(PREDICTIONS).count() == 5
    # The CLI's reads (deltalake by path, no Spark): rows, and the rows themselves with the version.
    assert lakehouse.row_count(PREDICTIONS) == 5 and lakehouse.row_count(GOLD) == 0
    frame, version = lakehouse.to_pandas_versioned(PREDICTIONS, ["listing_id", "run_date"])
    assert (list(frame.columns), len(frame), version) == (["listing_id", "run_date"], 5, 1)
    # Facts from the log (no Spark job) agree with Spark, also after a replace removed files.
    lakehouse.replace_partition(_predictions(lakehouse, DAYS[1], range(4), 90.0), PREDICTIONS, DAYS[1])
    facts = lakehouse.facts(PREDICTIONS)
    assert facts is not None and (facts.version, facts.rows) == (2, 7) == (
        2,
        lakehouse.read(PREDICTIONS).count(),
    )
    assert lakehouse.facts(GOLD) is None and lakehouse.last_commit(PREDICTIONS)[1]["numOutputRows"] == "4"


def test_existence_on_this_machines_disk_is_read_from_the_log_not_asked_of_spark(
    lakehouse: LakehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark's ``isDeltaTable`` loads the table's log into the JVM; a local table is asked of its log."""
    from delta.tables import DeltaTable

    lakehouse.append(_predictions(lakehouse, DAYS[0], range(3), 100.0), PREDICTIONS)
    asked: list[str] = []
    real = DeltaTable.isDeltaTable
    monkeypatch.setattr(
        DeltaTable, "isDeltaTable", staticmethod(lambda spark, path: asked.append(path) or real(spark, path))
    )
    assert lakehouse.exists(PREDICTIONS) and not lakehouse.exists(GOLD) and asked == []
    by_spark = lakehouse.model_copy(update={"delta_rs": False})  # as on Databricks: Spark answers
    assert by_spark.exists(PREDICTIONS) and not by_spark.exists(GOLD)
    assert asked == [lakehouse.path(PREDICTIONS), lakehouse.path(GOLD)]


def test_replace_partition_replaces_exactly_one_day(lakehouse: LakehouseResource) -> None:
    for day in DAYS:
        lakehouse.append(_predictions(lakehouse, day, range(10), 100.0), PREDICTIONS)
    lakehouse.replace_partition(_predictions(lakehouse, DAYS[1], range(4), 250.0), PREDICTIONS, DAYS[1])
    assert _by_day(lakehouse) == {DAYS[0]: (10, 100.0), DAYS[1]: (4, 250.0), DAYS[2]: (10, 100.0)}
    assert lakehouse.path(PREDICTIONS).endswith("gold/price_predictions")
    history = lakehouse.delta(PREDICTIONS).history(1).collect()[0]
    assert history["operation"] == "WRITE" and history["operationParameters"]["mode"] == "Overwrite"

    # Rows of another day cannot slip into the replaced one: the write fails, nothing changes.
    version = lakehouse.version(PREDICTIONS)
    with pytest.raises(Exception, match="(?i)replaceWhere|does not conform|DELTA_REPLACE_WHERE"):
        lakehouse.replace_partition(_predictions(lakehouse, DAYS[2], range(1), 1.0), PREDICTIONS, DAYS[1])
    assert lakehouse.version(PREDICTIONS) == version
    assert _by_day(lakehouse)[DAYS[2]] == (10, 100.0)


def test_a_day_with_nothing_to_replace_is_appended_and_still_checked(lakehouse: LakehouseResource) -> None:
    def mode() -> str:
        return lakehouse.delta(PREDICTIONS).history(1).collect()[0]["operationParameters"]["mode"]

    lakehouse.replace_partition(_predictions(lakehouse, DAYS[0], range(3), 100.0), PREDICTIONS, DAYS[0])
    lakehouse.replace_partition(_predictions(lakehouse, DAYS[1], range(4), 90.0), PREDICTIONS, DAYS[1])
    assert mode() == "Append"  # no row of the day yet: no replaceWhere
    assert lakehouse.matching_rows(PREDICTIONS, [("run_date", "in", DAYS[:2])]) == 7
    assert lakehouse.matching_rows(PREDICTIONS, [("run_date", "!=", DAYS[0])]) == 4
    assert lakehouse.matching_rows(PREDICTIONS, [("_held", "=", True)]) is None  # no such column

    # A row of another day is refused on the append path too, and nothing is committed.
    version = lakehouse.version(PREDICTIONS)
    with pytest.raises(Exception, match="a row outside replaceWhere"):
        lakehouse.replace_partition(_predictions(lakehouse, DAYS[0], range(1), 1.0), PREDICTIONS, DAYS[2])
    assert lakehouse.version(PREDICTIONS) == version

    lakehouse.replace_partition(_predictions(lakehouse, DAYS[1], range(2), 80.0), PREDICTIONS, DAYS[1])
    assert mode() == "Overwrite"  # rows to replace
    by_spark = lakehouse.model_copy(update={"delta_rs": False})  # elsewhere: always replaceWhere
    assert by_spark.matching_rows(PREDICTIONS, [("run_date", "=", DAYS[2])]) is None
    by_spark.replace_partition(_predictions(lakehouse, DAYS[2], range(5), 70.0), PREDICTIONS, DAYS[2])
    assert mode() == "Overwrite"
    assert _by_day(lakehouse) == {DAYS[0]: (3, 100.0), DAYS[1]: (2, 80.0), DAYS[2]: (5, 70.0)}


def test_unpartitioned_and_undeclared_tables_are_refused(lakehouse: LakehouseResource) -> None:
    with pytest.raises(ValueError, match="gold/listing_features is not partitioned"):
        lakehouse.replace_partition(lakehouse.session.range(1), GOLD, DAYS[0])
    with pytest.raises(ValueError, match="bronze/listings has no declared schema"):
        lakehouse.create_frame([{"id": "1"}], BRONZE)


def test_partition_rows_replace_only_matching_rows_and_report_rows_written(
    lakehouse: LakehouseResource,
) -> None:
    day = DAYS[0]

    def rows(report: str, columns: list[str]):  # type: ignore[no-untyped-def]
        return lakehouse.create_frame(
            [{"run_date": day, "report": report, "column": c, "score": 1.0} for c in columns], DRIFT_METRICS
        )

    lakehouse.replace_partition_rows(rows("data", ["a", "b"]), DRIFT_METRICS, day, [("report", "=", "data")])
    assert lakehouse.last_write_rows(DRIFT_METRICS) == 2
    lakehouse.replace_partition_rows(
        rows("predictions", ["n"]), DRIFT_METRICS, day, [("report", "=", "predictions")]
    )
    lakehouse.replace_partition_rows(rows("data", ["c"]), DRIFT_METRICS, day, [("report", "=", "data")])
    assert lakehouse.last_write_rows(DRIFT_METRICS) == 1
    kept = sorted((r["report"], r["column"]) for r in lakehouse.read(DRIFT_METRICS).collect())
    assert kept == [("data", "c"), ("predictions", "n")]
    assert lakehouse.last_write_rows(PREDICTIONS) is None  # no table, no commit


def test_grouped_counts_agree_with_and_without_spark(lakehouse: LakehouseResource) -> None:
    where = [("run_date", "in", DAYS[:2]), ("model_version", "=", "1")]
    assert lakehouse.grouped_counts(PREDICTIONS, "run_date", where) == {}  # no table yet
    for day, n in zip(DAYS, (3, 2, 4), strict=True):
        lakehouse.append(_predictions(lakehouse, day, range(n), 100.0), PREDICTIONS)
    lakehouse.replace_partition(_predictions(lakehouse, DAYS[1], range(5), 90.0), PREDICTIONS, DAYS[1])
    by_spark = lakehouse.model_copy(update={"delta_rs": False})
    assert lakehouse.local_table_path(PREDICTIONS) and not by_spark.local_table_path(PREDICTIONS)
    expected = {DAYS[0]: 3, DAYS[1]: 5}  # the third day filtered out, the replaced day counted once
    assert lakehouse.grouped_counts(PREDICTIONS, "run_date", where) == expected
    assert by_spark.grouped_counts(PREDICTIONS, "run_date", where) == expected
    assert lakehouse.grouped_counts(PREDICTIONS, "run_date", [("model_version", "=", "2")]) == {}
    missing = [("_held", "=", True)]  # a column the table lacks matches nothing
    assert lakehouse.grouped_counts(PREDICTIONS, "run_date", missing) == {}
    assert by_spark.grouped_counts(PREDICTIONS, "run_date", missing) == {}


def test_rows_keep_their_types_and_naive_times_are_utc_in_any_local_zone(
    lakehouse: LakehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``create_frame`` is what every ledger, quality and drift row goes through."""
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")  # the process's zone, not the session's (UTC)
    time.tzset()
    try:
        recorded = dt.datetime(2019, 10, 14, 23, 30)  # naive UTC, as the product records now(UTC)
        row = {
            "file_path": "/landing/listings_2019-10-14.csv.gz",
            "file_name": "listings_2019-10-14.csv.gz",
            "snapshot_date": dt.date(2019, 10, 14),
            "status": "ingested",
            "rows": 8111,
            "columns": ["id", "price"],
            "new_columns": [],
            "missing_columns": None,
            "recorded_at": recorded,
        }
        lakehouse.append(lakehouse.create_frame([row], LANDING_FILES), LANDING_FILES)
        empty = lakehouse.create_frame([], LANDING_FILES)
    finally:
        monkeypatch.undo()  # TZ as it was
        time.tzset()
    [got] = lakehouse.read(LANDING_FILES).collect()
    expected = {k: v for k, v in row.items() if k != "recorded_at"}
    assert {k: got[k] for k in expected} == expected
    # The instant itself, as Spark's UTC session renders it: 23:30 UTC, not 23:30 in Los Angeles
    # (collect() would give it in this process's zone, whatever that is).
    text = lakehouse.read(LANDING_FILES).selectExpr("cast(recorded_at as string)").first()[0]
    assert text == "2019-10-14 23:30:00"
    assert empty.schema == LANDING_FILES.schema and empty.count() == 0


def test_every_declared_schema_has_an_arrow_schema_and_other_types_are_refused() -> None:
    from pyspark.sql import types as T

    from airbnb_assets.platform.tables import TABLES
    from airbnb_assets.platform.writes import arrow_schema

    for table in (t for t in TABLES if t.schema is not None):
        converted = arrow_schema(table.schema)
        assert converted.names == table.schema.names, table.name
        assert [f.nullable for f in converted] == [f.nullable for f in table.schema.fields], table.name
    nested = T.StructType(
        [T.StructField("a", T.ArrayType(T.StructType([T.StructField("t", T.TimestampType())])))]
    )
    assert str(arrow_schema(nested).field("a").type) == "list<element: struct<t: timestamp[us, tz=UTC]>>"
    with pytest.raises(TypeError, match="no Arrow type declared for decimal"):
        arrow_schema(T.StructType([T.StructField("price", T.DecimalType(10, 2))]))
