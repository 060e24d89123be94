"""Run the ETL assets in catalog mode and in path mode, in a process of their own, and report as JSON.

``python catalog_run.py WORK SNAPSHOT`` (run by ``test_catalog_mode.py``; a Spark session's
catalog cannot change inside a process, and the suite's session uses the in-memory one):

1. the local catalog profile at ``WORK/catalog_lakehouse`` (``spark_catalog.<schema>.<table>`` in
   a persistent Hive metastore): ``airbnb bootstrap`` twice, then bronze → silver → gold on
   ``SNAPSHOT``, then again on a re-delivery of the same snapshot (same rows, other bytes), which
   deletes and updates silver rows (``DeltaTable.forName``) and replaces gold's rows of the date
   (``saveAsTable`` with ``replaceWhere``);
2. ``WORK/result.json``: the bootstrap reports, ``SHOW TABLES`` per schema, each table's type,
   location and comment, a column comment, and whether every materialization succeeded.

Only this module's files and Spark's own temporary folders should be written; the test checks.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import dagster as dg

from airbnb_assets.environments import Env, settings_for
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.ingest.assets import bronze_ingest
from airbnb_assets.ingest.landing import land_file
from airbnb_assets.platform.bootstrap import run_bootstrap
from airbnb_assets.platform.catalog import local_catalog_lakehouse, local_catalog_spark
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import TABLES
from airbnb_assets.silver.assets import silver_listings

ETL = [bronze_ingest, silver_listings, gold_listing_features]


def redeliver(snapshot: Path, landing: str) -> None:
    """Land the snapshot's rows again as ``<name>_redelivery.csv.gz``: same text, other gzip bytes."""
    name = snapshot.name.replace(".csv.gz", "_redelivery.csv.gz")
    tmp, target = Path(landing, f".{name}.tmp"), Path(landing, name)
    tmp.write_bytes(gzip.compress(gzip.decompress(snapshot.read_bytes()), mtime=1))
    os.replace(tmp, target)


def run_etl(lakehouse: LakehouseResource, snapshot: Path) -> list[bool]:
    """Land the snapshot, run the ETL assets, land its re-delivery, run them again."""
    lakehouse.ensure_landing()
    land_file(snapshot, lakehouse.landing_path)
    resources = {"lakehouse": lakehouse, "pyspark_step_launcher": dg.ResourceDefinition.none_resource()}
    results = [dg.materialize(ETL, resources=resources, raise_on_error=False).success]
    redeliver(snapshot, lakehouse.landing_path)
    results.append(dg.materialize(ETL, resources=resources, raise_on_error=False).success)
    return results


def describe(lakehouse: LakehouseResource) -> dict:
    """What the catalog says: tables per schema, and per table its type, location and comment."""
    spark = lakehouse.session
    schemas = sorted({t.schema_name for t in TABLES})
    shown = {
        s: sorted(r["tableName"] for r in spark.sql(f"SHOW TABLES IN spark_catalog.{s}").collect())
        for s in schemas
    }
    tables = {}
    for t in TABLES:
        info = {r[0]: r[1] for r in spark.sql(f"DESCRIBE TABLE EXTENDED {lakehouse.identifier(t)}").collect()}
        tables[t.name] = {
            "type": info.get("Type"),
            "location": info.get("Location"),
            "comment": info.get("Comment"),
        }
    columns = spark.sql(f"DESCRIBE TABLE {lakehouse.identifier(TABLES[1])}").collect()
    return {"show_tables": shown, "tables": tables, "ledger_columns": {r[0]: r[2] for r in columns}}


def main(work: Path, snapshot: Path) -> None:
    """Both runs, then ``WORK/result.json``."""
    root = str(work / "catalog_lakehouse")
    # The suite's Spark settings (AIRBNB_SPARK_CONF, as the suite exports it: conftest.py).
    spark = local_catalog_spark(root, extra_conf=settings_for(Env.DEV).local_spark_conf)
    catalog = local_catalog_lakehouse(root, spark=spark)
    boot = [run_bootstrap(catalog).objects, run_bootstrap(catalog).objects]
    catalog_ok = run_etl(catalog, snapshot)
    result = {"bootstrap": boot, "catalog_ok": catalog_ok, **describe(catalog)}
    (work / "result.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
