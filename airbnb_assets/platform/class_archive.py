"""The local driver's class-data sharing archive (AppCDS): Spark's and Delta's classes loaded once.

A local session is a new JVM in every process (each ``airbnb run``, Dagster run, test worker), and
a day of a few thousand rows is mostly that JVM warming up: loading and verifying some 20,000 of
Spark's, Delta's and Hadoop's classes. Java 17 can dump the classes a workload loaded into an
archive (``-XX:ArchiveClassesAtExit``) that later JVMs map instead (``-XX:SharedArchiveFile``).
Measured here (2 cores): a new process starting the session and writing a parsed snapshot to
Delta took 18-23 s with the archive against 25-28 s without, and 34-43 against 46-51 CPU-seconds.

``make setup`` builds the archive once (:mod:`airbnb_assets.spark_archive`, about a minute). It
lives in the user's cache, keyed by the Java executable, PySpark's version, the environment and
Delta's jars, since a JVM maps only an archive dumped by the same Java from
the same class path. :func:`java_options` adds it to a session's driver options when it exists;
a JVM that cannot map it (another Java, a changed class path) loads its classes as usual.
Dagster-free, like :mod:`~airbnb_assets.platform.session`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

#: Where the archives live (``$XDG_CACHE_HOME/airbnb_assets/spark``, by default under ``~/.cache``).
ARCHIVE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airbnb_assets" / "spark"
#: Java options that keep the JVM quiet about an archive it cannot use (it then runs without). Each
#: tag is needed: an archive whose class path differs from the JVM's warns under ``cds,dynamic``.
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off -Xlog:class+path=off"


def java_executable() -> str | None:
    """The ``java`` Spark's launcher runs: ``$JAVA_HOME/bin/java``, else the one on the ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return os.path.realpath(found) if found and os.path.exists(found) else None


def archive_path(jars: list[str]) -> Path | None:
    """The archive for a session started with ``jars`` from this environment (``None``: no Java found).

    Keyed by what the JVM checks when it maps an archive (the Java build, the class path: this
    environment's PySpark and the Delta jars), read without starting anything.
    """
    java = java_executable()
    if java is None:
        return None
    stat = os.stat(java)
    parts = [java, str(stat.st_size), str(stat.st_mtime_ns), version("pyspark"), sys.prefix, *jars]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return ARCHIVE_DIR / f"classes-{key}.jsa"


def java_options(jars: list[str]) -> str:
    """Driver Java options that map the archive for ``jars`` (empty when none was built)."""
    path = archive_path(jars) if jars else None
    return f"-XX:SharedArchiveFile={path} {QUIET}" if path is not None and path.exists() else ""
