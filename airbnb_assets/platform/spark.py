"""A Dagster resource that yields one Delta-enabled SparkSession per process.

Locally it starts ``local[2]`` Spark with delta-spark, tuned for a 2-core laptop. The first start
downloads the Delta jars (``io.delta:delta-spark_4.2_2.13`` and its dependencies, about 87 MB)
from Maven Central into ``~/.ivy2.5.2`` and records their list there; later starts pass those jars
as ``spark.jars`` without resolving them again. If Spark's resolver cannot reach
Maven Central, ``make jars`` copies the same artefacts with Maven into ``.jars/`` and they are
passed as ``spark.jars``. On Databricks (``master=None``) it returns the cluster's session.

With ``metastore_dir`` set, the session keeps its catalog in a persistent Hive metastore (an
embedded Derby database, pyspark ships the jars) under that folder, with its warehouse and
``derby.log`` there too: ``spark_catalog.<schema>.<table>`` names then survive the process, which
is how the local catalog profile (:mod:`~airbnb_assets.platform.catalog`) exercises the Unity
Catalog code path. Without it the catalog is in-memory. A process has one session, and the
catalog implementation of a running session cannot change.

With ``jvm_log`` set (the local default: ``<root>/<env>/_spark/jvm.log``) the JVM's own output --
Ivy's resolution report on a start that resolves, log4j warnings -- goes to that file instead of the
terminal; a start that fails names the file and shows its last lines.

:meth:`SparkResource.start_in_background` starts the local session in a thread: ``airbnb run``
and ``airbnb replay`` call it before they run a job, so the JVM starts while MLflow and Dagster
load and the run begins (its first step needs Spark at once); that step then waits for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from airbnb_assets.platform.session import (  # noqa: F401 - the builder's names, re-exported
    DEFAULT_JARS_DIR,
    LOCAL_CONF,
    get_or_create_session,
    metastore_conf,
    start_in_background,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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

    def start_in_background(self) -> None:
        """Start the local session in a background thread now; nothing on Databricks (``master=None``).

        The first :attr:`session` waits for that start (:func:`~airbnb_assets.platform.session.
        start_in_background`): a command that runs a job starts the JVM while Dagster loads.
        """
        if self.master is not None:
            start_in_background(
                master=self.master,
                local_dir=self.local_dir,
                extra_conf=self.extra_conf,
                jvm_log=self.jvm_log,
                metastore_dir=self.metastore_dir,
            )
