"""The local catalog profile: catalog mode for real on this machine, without Databricks.

Unity Catalog addresses tables as ``catalog.schema.table``; the code that does so (``saveAsTable``,
``spark.read.table``, ``readStream.table``, ``DeltaTable.forName``, the bootstrap's ``CREATE``
statements) only runs where there is a catalog. This profile gives it one: Spark's built-in catalog
``spark_catalog`` backed by a persistent Hive metastore (embedded Derby, shipped with pyspark)
under ``<root>/_metastore``, so tables are ``spark_catalog.<schema>.<table>`` and survive the
process, like a TEST environment's.

Its tables are **external** at ``<root>/<schema>/<table>``, the same place as in path mode, rather
than managed in the metastore's warehouse: they stay readable by path with ``deltalake`` (the
``airbnb show`` command, the tests, DuckDB), deleting the environment's root removes tables and
metastore together, and nothing is written outside ``root``. What differs from Unity Catalog is
listed in ``docs/databricks.rst`` (no volumes: the landing zone is a folder).

One process holds the Derby metastore at a time, and a process's Spark session cannot switch
between the in-memory catalog and this one: run catalog mode in its own process.
"""

from __future__ import annotations

from collections.abc import Mapping

from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.spark import SparkResource

#: Spark's built-in (session) catalog: the catalog part of every local catalog-mode name.
LOCAL_CATALOG = "spark_catalog"


def local_catalog_spark(
    root: str,
    *,
    master: str = "local[2]",
    jvm_log: str | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkResource:
    """A local Spark resource whose catalog is a persistent Hive metastore under ``<root>/_metastore``.

    ``extra_conf`` is applied over the session's own settings, as DEV's ``AIRBNB_SPARK_CONF`` is.
    """
    base = root.rstrip("/")
    return SparkResource(
        master=master,
        local_dir=f"{base}/_spark",
        metastore_dir=f"{base}/_metastore",
        jvm_log=jvm_log,
        extra_conf=dict(extra_conf or {}),
    )


def local_catalog_lakehouse(
    root: str,
    landing_path: str | None = None,
    *,
    spark: SparkResource | None = None,
    master: str = "local[2]",
    jvm_log: str | None = None,
) -> LakehouseResource:
    """A catalog-mode lakehouse on this machine, with its Spark resource as ``.spark``.

    Tables are ``spark_catalog.<schema>.<table>``, external at ``<root>/<schema>/<table>``; the
    Spark resource is :func:`local_catalog_spark`'s.

    Args:
        root: The environment's root (tables, checkpoints, artefacts, metastore).
        landing_path: The landing folder (default ``<root>/landing/listings``, as in DEV).
        spark: A Spark resource to use instead (it must have a ``metastore_dir``).
        master: Spark master of the built resource.
        jvm_log: Where the JVM's own output goes (default: the terminal).
    """
    base = root.rstrip("/")
    spark = spark or local_catalog_spark(base, master=master, jvm_log=jvm_log)
    if not spark.metastore_dir:
        raise ValueError("the local catalog profile needs a Spark resource with a metastore_dir")
    return LakehouseResource(
        root=base,
        landing_path=landing_path or f"{base}/landing/listings",
        catalog=LOCAL_CATALOG,
        spark=spark,
        platform="local",
        external_tables=True,
    )
