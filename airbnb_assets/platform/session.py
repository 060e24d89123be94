"""The Dagster-free half of :mod:`~airbnb_assets.platform.spark`: build the process's Delta-enabled session.

:func:`get_or_create_session` is what :class:`~airbnb_assets.platform.spark.SparkResource` calls;
it imports neither Dagster nor MLflow, so a plain PySpark script (``benchmarks/bare_pyspark.py``)
starts exactly the same session as the daily job. What the settings are and why: see
:mod:`~airbnb_assets.platform.spark`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from airbnb_assets.platform import class_archive

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
    # Spark keeps the classes it generates and compiles for a query's code in a cache of 100 by
    # default; one daily run generates about 230, so a process running day after day (the replay,
    # `make dev`, a test worker) compiled each again every day (227 compilations on each
    # repeated 2,000-row day) and the JIT compiled the new classes again. With 2,000 entries a
    # repeated day compiles 7, and its JVM used 100 instead of 112 CPU-s over three such days.
    "spark.sql.codegen.cache.maxEntries": "2000",
    # Shuffles start with 32 partitions and AQE coalesces them to its advisory size (64 MB): a
    # small day ends up in one or two partitions, millions of rows get all 32 (with 4, each task
    # of a 5M-row backlog held over a million wide rows; that backlog can still exhaust the heap).
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "32",
    # ... and AQE may coalesce a cached plan's shuffle too (silver caches its judged rows): without
    # it, a 2,000-row day was written as 32 files.
    "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
    # Delta auto compaction off: it counts only the files this JVM wrote and compacts any table
    # this JVM has not compacted yet on its first write, so every run in a fresh process (a Dagster
    # run, a job cluster) rewrote each table it wrote: six OPTIMIZEs, about 20 s, on a real day.
    # The lakehouse compacts a table once it holds 50 small files (TableWrites.compact_small_files).
    "spark.databricks.delta.autoCompact.enabled": "false",
    # Java's full charset list (Mac Roman, windows-1252 landed files): set when the session starts,
    # never at run time (``spark.conf.set`` is refused on Databricks shared and serverless compute).
    "spark.sql.legacy.javaCharsets": "true",
}

#: Java options of the local driver, before any ``spark.driver.extraJavaOptions`` of the settings
#: (a later option wins). They keep the heap near what Spark holds live (under 1 GB on the
#: 1,000,000-row benchmark day) instead of ``spark.driver.memory``, so the JVM leaves room for the
#: Python that shares the machine (the scoring workers, the retrain's fit):
#:
#: - ``G1PeriodicGCInterval``: a G1 collection after 10 s without one, so the heap shrinks while the
#:   JVM idles (after silver on that day, 3.37 → about 1.7 GB of RSS within seconds);
#: - ``GCTimeRatio=4``: G1 grows the heap only when collections take over 20 % of the time, not the
#:   default 8 % (each burst of Spark's humongous allocations grew it by a gigabyte);
#: - ``Min/MaxHeapFreeRatio``: at each marking cycle G1 gives back what is over 40 % free.
#:
#: Measured on that day (``benchmarks/RESULTS.md``, figure 2): the committed heap peaked at 1.84 GB
#: instead of 3.08 GB, and the run's peak RSS was 3.58 GB (3.49 GB in the recorded run) where three
#: runs without the two heap-free ratios peaked at 4.00, 5.39 and 5.65 GB.
#:
#: The three inlining options make the server compiler (C2) inline less: four levels deep instead of 15, and
#: smaller methods (``InlineSmallCode`` 500 instead of 2,500 bytes, ``FreqInlineSize`` 100 instead
#: of 325). A local JVM runs hundreds of small, distinct plans a day, and compiling them took most
#: of its CPU. With them ``make test`` used 2,138 CPU-s instead of 2,954, and the 1,000,000-row day
#: stayed within 1.3× its floor; two levels deep doubled that day (``benchmarks/RESULTS.md``,
#: figures 2 and 4). What Spark computes is unchanged.
LOCAL_JAVA_OPTIONS = (
    "-XX:G1PeriodicGCInterval=10000 -XX:GCTimeRatio=4 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=40"
    " -XX:MaxInlineLevel=4 -XX:InlineSmallCode=500 -XX:FreqInlineSize=100"
)

#: Spark 4's default Ivy folder, named here so the first start's lock and Spark's resolution agree.
DEFAULT_IVY_DIR = os.path.join(os.path.expanduser("~"), ".ivy2.5.2")

DEFAULT_JARS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), ".jars")


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


def _resolution_marker(ivy_dir: str) -> str:
    """The file, in the Ivy cache, naming the jars a start resolved for this Delta and Spark."""
    from importlib.metadata import version

    name = f".airbnb_assets-delta-{version('delta-spark')}-pyspark-{version('pyspark')}.jars"
    return os.path.join(ivy_dir, name)


def local_jars(jars_dir: str | None, ivy_dir: str) -> list[str]:
    """Delta's jars for a local start: Maven's copy in ``jars_dir`` (``make jars``), else the resolved."""
    return (sorted(glob.glob(os.path.join(jars_dir, "*.jar"))) if jars_dir else []) or resolved_jars(ivy_dir)


def resolved_jars(ivy_dir: str) -> list[str]:
    """Delta's jars as an earlier start resolved them into ``ivy_dir`` (empty: none, or one is gone).

    Spark resolves ``spark.jars.packages`` with Ivy at every start (about 1.5 s with a full
    cache); a start that finds this list passes the jars as ``spark.jars`` instead.
    """
    try:
        with open(_resolution_marker(ivy_dir), encoding="utf-8") as fh:
            return existing_jars(fh.read().split())
    except OSError:
        return []


def existing_jars(uris: list[str]) -> list[str]:
    """The local paths of ``uris`` (``spark.jars`` entries, ``file:`` or bare), or empty if one is gone."""
    paths = [u.removeprefix("file://").removeprefix("file:") for u in uris if u]
    return paths if paths and all(os.path.isfile(p) for p in paths) else []


def _record_resolution(ivy_dir: str, spark: SparkSession) -> None:
    """Write the jars this start resolved (its ``spark.jars``) for :func:`resolved_jars`."""
    uris = spark.sparkContext.getConf().get("spark.jars", "") or ""
    paths = existing_jars(uris.split(","))
    if not paths:
        return
    marker = _resolution_marker(ivy_dir)
    partial = f"{marker}.{os.getpid()}"
    with open(partial, "w", encoding="utf-8") as fh:
        fh.write("\n".join(paths) + "\n")
    os.replace(partial, marker)


@contextlib.contextmanager
def _first_resolve(ivy_dir: str, resolves: bool) -> Iterator[None]:
    """Let one process at a time resolve Delta's jars with Ivy (``resolves``: no usable recorded list).

    Spark resolves ``spark.jars.packages`` with Ivy; two processes filling an empty Ivy cache at
    once corrupt each other's downloads (``unresolved dependency ... not found``: seen with two
    pytest workers on a fresh machine). Once a locked start has recorded its jars
    (:func:`resolved_jars`), later starts use them and run side by side; a start that waited on
    the lock reads the list again before it resolves. Nothing to do when the jars are known.
    """
    if not resolves:
        yield
        return
    import fcntl

    os.makedirs(ivy_dir, exist_ok=True)
    with open(os.path.join(ivy_dir, ".airbnb_assets.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def local_conf(
    local_dir: str | None = None, metastore_dir: str | None = None, extra_conf: dict[str, str] | None = None
) -> dict[str, str]:
    """The settings a new local session starts with.

    :data:`LOCAL_CONF`, the warehouse under ``local_dir``, :func:`metastore_conf`, then
    ``extra_conf``. The driver's Java options are those of every layer, in that order (a later
    option wins): :data:`LOCAL_JAVA_OPTIONS`, the metastore's Derby home, then ``extra_conf``'s
    (``AIRBNB_SPARK_CONF``), which adds to them instead of replacing them.
    """
    conf = dict(LOCAL_CONF)
    if local_dir:
        conf["spark.sql.warehouse.dir"] = os.path.join(local_dir, "warehouse")
    layers = [metastore_conf(metastore_dir) if metastore_dir else {}, dict(extra_conf or {})]
    options = [LOCAL_JAVA_OPTIONS]
    for layer in layers:
        options.append(layer.pop("spark.driver.extraJavaOptions", ""))
        conf.update(layer)
    conf["spark.driver.extraJavaOptions"] = " ".join(o for o in options if o)
    return conf


#: Held while a session is being created: a start in the background and the first caller that
#: needs the session (a step) never start two; the caller waits for the start under way.
_STARTING = threading.Lock()


def start_in_background(
    master: str = "local[2]",
    local_dir: str | None = None,
    jars_dir: str | None = DEFAULT_JARS_DIR,
    extra_conf: dict[str, str] | None = None,
    jvm_log: str | None = None,
    metastore_dir: str | None = None,
) -> threading.Thread:
    """Start the process's local session in a daemon thread (:func:`get_or_create_session`'s arguments).

    The JVM then starts while the caller goes on with what needs no Spark (MLflow's imports,
    Dagster's definitions, the run's start): the first :func:`get_or_create_session` waits for
    this start and returns its session. A start that fails here is not reported: that first call
    starts again and raises the error itself. A start that must resolve Delta's jars (the first on
    a machine) is left to that call, in the foreground.
    """
    # PySpark's modules import each other in a cycle: a thread importing them while another does
    # can see a half-initialised module (ImportError), so they are imported here, before the thread.
    import pyspark.java_gateway  # noqa: F401
    import pyspark.sql  # noqa: F401

    def start() -> None:
        with contextlib.suppress(Exception), _STARTING:
            if running_session() is None:
                conf = local_conf(local_dir, metastore_dir, extra_conf)
                _start(master, conf, jars_dir, jvm_log, dirs=(local_dir, metastore_dir), background=True)

    thread = threading.Thread(target=start, name="spark-start", daemon=True)
    thread.start()
    return thread


def running_session() -> SparkSession | None:
    """The session of this thread, else the process's default one (started by another thread)."""
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    try:  # this thread's session, else the default one (e.g. the one start_in_background created)
        return SparkSession.active()
    except PySparkRuntimeError:  # NO_ACTIVE_OR_DEFAULT_SESSION
        return None


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

    if master is None:  # Databricks: the cluster owns the session and its configuration
        return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    with _STARTING:
        active = running_session()
        if active is not None:
            return _check_catalog(active, "hive") if metastore_dir else active
        conf = local_conf(local_dir, metastore_dir, extra_conf)
        spark = _start(master, conf, jars_dir, jvm_log, dirs=(local_dir, metastore_dir))
        assert spark is not None
        return spark


def _start(
    master: str,
    conf: dict[str, str],
    jars_dir: str | None,
    jvm_log: str | None,
    dirs: tuple[str | None, ...] = (),
    background: bool = False,
) -> SparkSession | None:
    """Start the Delta-enabled local session (none runs in this process yet).

    ``background`` (:func:`start_in_background`): start nothing and return ``None`` if the start
    would resolve Delta's jars.
    """
    # Python workers (pandas UDFs: the model's scoring) run in this interpreter's environment.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for folder in dirs:
        if folder:
            os.makedirs(folder, exist_ok=True)
    options = {**conf, "spark.master": master, "spark.app.name": "airbnb_assets"}
    ivy_dir = conf.get("spark.jars.ivy") or DEFAULT_IVY_DIR
    # Delta's jars: copied by Maven into .jars (offline fallback), else as an earlier start
    # resolved them, else resolved now by spark.jars.packages into the Ivy folder the lock guards.
    jars = local_jars(jars_dir, ivy_dir)
    if not jars and background:
        return None
    with _first_resolve(ivy_dir, resolves=not jars):
        jars = jars or resolved_jars(ivy_dir)  # recorded by the start this one waited for
        if jars:
            archive = class_archive.java_options(jars)  # Spark's classes mapped, not loaded (make setup)
            java = " ".join(o for o in (archive, options.get("spark.driver.extraJavaOptions", "")) if o)
            spark = _launch(
                options | {"spark.jars": ",".join(jars), "spark.driver.extraJavaOptions": java}, jvm_log
            )
        else:
            resolve = {"spark.jars.ivy": ivy_dir, "spark.jars.packages": _delta_package()}
            spark = _launch(options | resolve, jvm_log)
            _record_resolution(ivy_dir, spark)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _delta_package() -> str:
    """The Maven coordinates ``configure_spark_with_delta_pip`` gives Spark for the installed delta-spark."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    builder = configure_spark_with_delta_pip(SparkSession.Builder())
    return str(builder._options["spark.jars.packages"])  # noqa: SLF001 - the one value it sets


def _launch(options: dict[str, str], jvm_log: str | None) -> SparkSession:
    """Launch the JVM with ``options``, its standard output and error appended to ``jvm_log``.

    PySpark's ``launch_gateway`` takes the JVM's ``Popen`` arguments for this (its developer hook
    for capturing the JVM's output). Nothing else in the process is redirected meanwhile -- not a
    Dagster step capturing its logs, nor the run's own output -- so the start can overlap them.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    conf = SparkConf().setAll(list(options.items()))
    try:
        if jvm_log is None:
            gateway = launch_gateway(conf)
        else:
            os.makedirs(os.path.dirname(jvm_log) or ".", exist_ok=True)
            with open(jvm_log, "ab") as log:  # the JVM keeps its own copy of the descriptor
                gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
        SparkContext(conf=conf, gateway=gateway)
        return SparkSession.builder.config(conf=conf).getOrCreate()
    except Exception as exc:
        if jvm_log is None:
            raise
        raise RuntimeError(f"Spark did not start; its output is in {jvm_log}:\n{_tail(jvm_log)}") from exc
