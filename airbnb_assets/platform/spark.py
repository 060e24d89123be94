"""A Dagster resource that yields one Delta-enabled SparkSession per process.

Locally it starts ``local[2]`` Spark with delta-spark, tuned for a 2-core laptop. The first start
downloads the Delta jars (``io.delta:delta-spark_4.2_2.13`` and its dependencies, about 87 MB)
from Maven Central into ``~/.ivy2.5.2``; later starts reuse them. If Spark's resolver cannot reach
Maven Central, ``make jars`` copies the same artefacts with Maven into ``.jars/`` and they are
passed as ``spark.jars``. On Databricks (``master=None``) it returns the cluster's session.
"""

from __future__ import annotations

import glob
import os
import sys
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Spark settings for a small machine (2 cores): few shuffle partitions, no UI, UTC.
LOCAL_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.streaming.numRecentProgressUpdates": "10",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    "spark.sql.adaptive.enabled": "true",
}

DEFAULT_JARS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), ".jars")


def get_or_create_session(
    master: str | None = "local[2]",
    local_dir: str | None = None,
    jars_dir: str | None = DEFAULT_JARS_DIR,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """Return the process's SparkSession, creating a Delta-enabled local one if needed."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if master is None:  # Databricks: the cluster owns the session and its configuration
        return SparkSession.builder.getOrCreate()

    builder = SparkSession.builder.master(master).appName("airbnb_assets")
    # Python workers (pandas UDFs, mlflow spark_udf) run in this interpreter's environment.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = dict(LOCAL_CONF)
    if local_dir:
        os.makedirs(local_dir, exist_ok=True)
        conf["spark.sql.warehouse.dir"] = os.path.join(local_dir, "warehouse")
    conf.update(extra_conf or {})
    for key, value in conf.items():
        builder = builder.config(key, value)

    jars = sorted(glob.glob(os.path.join(jars_dir, "*.jar"))) if jars_dir else []
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    else:
        from delta import configure_spark_with_delta_pip

        builder = configure_spark_with_delta_pip(builder)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkResource(dg.ConfigurableResource):
    """One SparkSession shared by all assets of a run (the job uses the in-process executor).

    ``master=None`` means "use the session the platform provides" (Databricks).
    """

    master: str | None = "local[2]"
    local_dir: str | None = None
    extra_conf: dict[str, str] = {}

    @property
    def session(self) -> SparkSession:
        """The Delta-enabled SparkSession (created on first use, then reused)."""
        return get_or_create_session(self.master, self.local_dir, extra_conf=self.extra_conf)
