"""The landing reader: Auto Loader's exact options on Databricks, the local emulation otherwise, and
the Databricks batch handler run locally on a batch shaped like Auto Loader's."""

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from airbnb_assets.ingest.autoloader import ingest_parsed_batch
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.ingest.reader import (
    RESCUED,
    cloudfiles_options,
    landed_files,
    landing_reader,
    with_stream_provenance,
)
from airbnb_assets.platform.incremental import BatchContext
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import BRONZE, LANDING_FILES
from airbnb_assets_tests.conftest import csv_data_rows, snapshot_file

SCHEMA_LOCATION = "/Volumes/airbnb_prod/ops/lakehouse/prod/_checkpoints/bronze_listings/_schema"


def test_cloudfiles_options_are_exactly_what_databricks_is_given() -> None:
    assert cloudfiles_options(SCHEMA_LOCATION) == {
        "cloudFiles.format": "csv",
        "cloudFiles.schemaLocation": SCHEMA_LOCATION,
        "cloudFiles.schemaEvolutionMode": "addNewColumns",
        "cloudFiles.inferColumnTypes": "false",
        "cloudFiles.includeExistingFiles": "true",
        "header": "true",
        "multiLine": "true",
        "quote": '"',
        "escape": '"',
        "encoding": "UTF-8",
        "rescuedDataColumn": "_rescued_data",
        "pathGlobFilter": "listings_*.csv*",
    }
    assert cloudfiles_options(SCHEMA_LOCATION, "rescue")["cloudFiles.schemaEvolutionMode"] == "rescue"
    with pytest.raises(ValueError, match="schema evolution mode 'none'"):
        cloudfiles_options(SCHEMA_LOCATION, "none")


def test_reader_per_platform(spark, lakehouse: LakehouseResource) -> None:  # type: ignore[no-untyped-def]
    local = landing_reader("local", spark, lakehouse.landing_path, lakehouse.checkpoint("b"))
    assert local.isStreaming and local.columns == ["path"]
    # Open-source Spark has no cloudFiles source: the Databricks reader really asks for it.
    with pytest.raises(Exception, match="(?i)cloudFiles"):
        landing_reader("databricks", spark, lakehouse.landing_path, lakehouse.checkpoint("b"))
    with pytest.raises(ValueError, match="unknown platform 'azure'"):
        landing_reader("azure", spark, lakehouse.landing_path, lakehouse.checkpoint("b"))


def test_landed_files_lists_empty_files_and_skips_hidden_ones(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "listings_2020-01-01.csv").write_bytes(b"")
    (tmp_path / "listings_2020-01-02.csv").write_bytes(b"id\n1\n")
    (tmp_path / "notes.txt").write_bytes(b"x")
    (tmp_path / ".listings_2020-01-03.csv.tmp").write_bytes(b"id\n1\n")
    listed = landed_files(spark, str(tmp_path))
    assert {p.rsplit("/", 1)[-1]: size for p, size in listed.items()} == {
        "listings_2020-01-01.csv": 0,
        "listings_2020-01-02.csv": 5,
        "notes.txt": 1,
    }
    assert all(p.startswith("file:/") and not p.startswith("file://") for p in listed)
    assert landed_files(spark, str(tmp_path / "missing")) == {}


def test_databricks_batch_handler_appends_once_and_records_each_file(
    spark,  # type: ignore[no-untyped-def]
    lakehouse: LakehouseResource,
) -> None:
    """What Auto Loader hands over (parsed rows + ``_metadata``), imitated with Spark's CSV reader."""
    path = snapshot_file("2019-06-02")
    options = {
        k: v for k, v in cloudfiles_options(SCHEMA_LOCATION).items() if not k.startswith("cloudFiles.")
    }
    options.pop("rescuedDataColumn")
    raw = spark.read.format("csv").options(**options).load(str(path))
    batch = with_stream_provenance(raw.withColumn(RESCUED, F.lit(None).cast("string")))
    assert batch.columns[-4:] == ["_rescued_data", "_source_file", "_snapshot_date", "_ingested_at"]

    records = ingest_parsed_batch(lakehouse, batch, BatchContext("stream", 0), run_date="2019-06-03")
    expected = len(csv_data_rows(path))
    (record,) = records
    assert (record["file_name"], record["status"], record["rows"]) == (path.name, "ingested", expected)
    assert str(record["snapshot_date"]) == "2019-06-02" and record["sha256"] is None
    header = probe_file(str(path)).columns
    assert "price" in record["columns"] and set(record["columns"]) <= set(header)
    bronze = lakehouse.read(BRONZE)
    assert bronze.count() == expected
    assert bronze.filter(F.col("_source_file").endswith(path.name)).count() == expected

    # A retried batch (same stream and batch id) commits nothing again.
    ingest_parsed_batch(lakehouse, batch, BatchContext("stream", 0), run_date="2019-06-03")
    assert lakehouse.read(BRONZE).count() == expected
    assert lakehouse.read(LANDING_FILES).count() == 1


def test_databricks_batch_handler_refuses_a_file_without_ids_and_its_columns(
    spark,  # type: ignore[no-untyped-def]
    lakehouse: LakehouseResource,
    tmp_path: Path,
) -> None:
    """A semicolon export in the same micro-batch: failed, and its one mangled column stays out of bronze."""
    good_path = snapshot_file("2019-06-02")
    bad_path = tmp_path / "listings_2019-06-03.csv"
    bad_path.write_text("id;name;price\n1;Flat;$100.00\n2;Room;$50.00\n", encoding="utf-8")
    options = {
        k: v for k, v in cloudfiles_options(SCHEMA_LOCATION).items() if not k.startswith("cloudFiles.")
    }
    options.pop("rescuedDataColumn")
    good, bad = (
        with_stream_provenance(
            spark.read.format("csv")
            .options(**options)
            .load(str(p))
            .withColumn(RESCUED, F.lit(None).cast("string"))
        )
        for p in (good_path, bad_path)
    )
    batch = good.unionByName(bad, allowMissingColumns=True)

    records = {r["file_name"]: r for r in ingest_parsed_batch(lakehouse, batch, BatchContext("stream", 0))}
    assert records[bad_path.name]["status"] == "failed"
    assert records[bad_path.name]["reason"].startswith("header has no 'id' column")
    assert records[bad_path.name]["columns"] == ["id_name_price"]
    assert records[good_path.name]["status"] == "ingested"
    bronze = lakehouse.read(BRONZE)
    assert "id_name_price" in batch.columns and "id_name_price" not in bronze.columns
    assert bronze.count() == len(csv_data_rows(good_path))
