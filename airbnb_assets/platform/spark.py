"""A Dagster resource that yields one Delta-enabled SparkSession per process.

Locally it starts ``local[2]`` Spark with delta-spark, tuned for a 2-core laptop. The first start
downloads the Delta jars (``io.delta:delta-spark_4.2_2.13`` and its dependencies, about 87 MB)
from Maven Central into ``~/.ivy2.5.2``; later starts reuse them. If Spark's resolver cannot reach
Maven Central, ``make jars`` copies the same artefacts with Maven into ``.jars/`` and they are
passed as ``spark.jars``. On Databricks (``master=None``) it returns the cluster's session.

With ``metastore_dir`` set, the session keeps its catalog in a persistent Hive metastore (an
embedded Derby database, pyspark ships the jars) under that folder, with its warehouse and
``derby.log`` there too: ``spark_catalog.<schema>.<table>`` names then survive the process, which
is how the local catalog profile (:mod:`~airbnb_assets.platform.catalog`) exercises the Unity
Catalog code path. Without it the catalog is in-memory. A process has one session, and the
catalog implementation of a running session cannot change.

With ``jvm_log`` set (the local default: ``<root>/<env>/_spark/jvm.log``) the JVM's own output --
Ivy's resolution report on every start, log4j warnings -- goes to that file instead of the
terminal; a start that fails names the file and shows its last lines.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Iterator
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
    # Java's full charset list (Mac Roman, windows-1252 landed files): set when the session starts,
    # never at run time (``spark.conf.set`` is refused on Databricks shared and serverless compute).
    "spark.sql.legacy.javaCharsets": "true",
}

DEFAULT_JARS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), ".jars")


@contextlib.contextmanager
def _jvm_output_to(path: str | None) -> Iterator[None]:
    """While the JVM is launched, point this process's stdout/stderr at ``path`` (it inherits them)."""
    if path is None:
        yield
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def metastore_conf(metastore_dir: str) -> dict[str, str]:
    """Spark settings for a persistent Hive metastore (embedded Derby) and warehouse under ``metastore_dir``.

    Everything the metastore writes stays in that folder: the Derby database, ``derby.log`` (Derby
    writes it to ``derby.system.home``, by default the working directory), the warehouse of managed
    schemas and Hive's scratch folders.
    """
    folder = os.path.abspath(metastore_dir)
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": os.path.join(folder, "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={os.path.join(folder, 'metastore_db')};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.hadoop.hive.exec.scratchdir": os.path.join(folder, "scratch"),
        "spark.hadoop.hive.exec.local.scratchdir": os.path.join(folder, "scratch_local"),
        "spark.hadoop.hive.downloaded.resources.dir": os.path.join(folder, "resources"),
    }


def _check_catalog(session: SparkSession, wanted: str) -> SparkSession:
    """``session`` if its catalog implementation is ``wanted``, else a clear error (it cannot change)."""
    actual = session.conf.get("spark.sql.catalogImplementation", "in-memory")
    if actual != wanted:
        raise RuntimeError(
            f"this process already runs a Spark session with the {actual!r} catalog; a session with the "
            f"{wanted!r} catalog (a persistent metastore) needs its own process"
        )
    return session


def get_or_create_session(
    master: str | None = "local[2]",
    local_dir: str | None = None,
    jars_dir: str | None = DEFAULT_JARS_DIR,
    extra_conf: dict[str, str] | None = None,
    jvm_log: str | None = None,
    metastore_dir: str | None = None,
) -> SparkSession:
    """Return the process's SparkSession, creating a Delta-enabled local one if needed.

    With ``metastore_dir`` the session must use (or start with) the persistent Hive metastore of
    :func:`metastore_conf`; a running session with another catalog is an error, not a silent switch.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return _check_catalog(active, "hive") if metastore_dir and master is not None else active
    if master is None:  # Databricks: the cluster owns the session and its configuration
        return SparkSession.builder.getOrCreate()

    builder = SparkSession.builder.master(master).appName("airbnb_assets")
    # Python workers (pandas UDFs, mlflow spark_udf) run in this interpreter's environment.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = dict(LOCAL_CONF)
    if local_dir:
        os.makedirs(local_dir, exist_ok=True)
        conf["spark.sql.warehouse.dir"] = os.path.join(local_dir, "warehouse")
    if metastore_dir:
        os.makedirs(metastore_dir, exist_ok=True)
        conf.update(metastore_conf(metastore_dir))
    conf.update(extra_conf or {})
    for key, value in conf.items():
        builder = builder.config(key, value)

    jars = sorted(glob.glob(os.path.join(jars_dir, "*.jar"))) if jars_dir else []
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    else:
        from delta import configure_spark_with_delta_pip

        builder = configure_spark_with_delta_pip(builder)
    try:
        with _jvm_output_to(jvm_log):
            spark = builder.getOrCreate()
    except Exception as exc:
        if jvm_log is None:
            raise
        raise RuntimeError(f"Spark did not start; its output is in {jvm_log}:\n{_tail(jvm_log)}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkResource(dg.ConfigurableResource):
    """One SparkSession shared by all assets of a run (the job uses the in-process executor).

    ``master=None`` means "use the session the platform provides" (Databricks). ``metastore_dir``
    keeps a persistent local Hive metastore there (:func:`metastore_conf`; the local catalog
    profile); ``extra_conf`` is applied last and may override any setting.
    """

    master: str | None = "local[2]"
    local_dir: str | None = None
    extra_conf: dict[str, str] = {}
    jvm_log: str | None = None
    metastore_dir: str | None = None

    @property
    def session(self) -> SparkSession:
        """The Delta-enabled SparkSession (created on first use, then reused)."""
        return get_or_create_session(
            self.master,
            self.local_dir,
            extra_conf=self.extra_conf,
            jvm_log=self.jvm_log,
            metastore_dir=self.metastore_dir,
        )
