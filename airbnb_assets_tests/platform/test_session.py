"""The local session's Delta jars: one process at a time fills an empty Ivy cache, later starts reuse it.

On a fresh machine two pytest workers started Spark at once and both resolved Delta's jars into
``~/.ivy2.5.2``; each corrupted the other's downloads and every test of one worker errored
(``unresolved dependency: org.roaringbitmap#shims;0.9.25: not found``). The lock tests hold
it from one process and watch another, without Spark (a real resolve downloads from Maven Central).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from airbnb_assets.platform.session import (
    DEFAULT_IVY_DIR,
    DEFAULT_JARS_DIR,
    _first_resolve,
    _resolution_marker,
    resolved_jars,
)

#: Another process's attempt to take the lock without waiting: prints "free" or "held".
TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1], "w") as fh:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("free")
    except BlockingIOError:
        print("held")
"""


def _other_process_finds(lock: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(lock)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_start_that_resolves_holds_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / ".airbnb_assets.lock"
    with _first_resolve(str(tmp_path), resolves=True):
        assert _other_process_finds(lock) == "held"
    assert _other_process_finds(lock) == "free"
    try:  # a failed start releases it too
        with _first_resolve(str(tmp_path), resolves=True):
            raise RuntimeError("Java gateway process exited")
    except RuntimeError:
        pass
    assert _other_process_finds(lock) == "free"


def test_jars_known_take_no_lock(tmp_path: Path) -> None:
    with _first_resolve(str(tmp_path), resolves=False):
        pass
    assert list(tmp_path.iterdir()) == []


def test_recorded_jars_are_used_only_while_every_one_exists(tmp_path: Path) -> None:
    assert resolved_jars(str(tmp_path)) == []  # nothing recorded: resolve
    jars = [tmp_path / "jars" / "io.delta_delta-spark_2.13-4.4.0.jar", tmp_path / "jars" / "b.jar"]
    jars[0].parent.mkdir()
    for jar in jars:
        jar.write_bytes(b"PK")
    marker = Path(_resolution_marker(str(tmp_path)))
    marker.write_text("".join(f"{j}\n" for j in jars))
    assert resolved_jars(str(tmp_path)) == [str(j) for j in jars]
    jars[1].unlink()  # a cache cleaned by hand: resolve again
    assert resolved_jars(str(tmp_path)) == []


#: A new process that starts Spark in the background and prints while it starts, then takes the
#: session, writes and reads a Delta table; prints whether both calls got the same session, how many
#: JVMs it runs, and the table's rows.
BACKGROUND_START = """
import sys
import psutil
from airbnb_assets.platform.session import get_or_create_session, start_in_background
thread = start_in_background("local[1]", local_dir=sys.argv[1], jvm_log=sys.argv[2])
print("printed while the JVM starts", flush=True)
spark = get_or_create_session("local[1]", local_dir=sys.argv[1], jvm_log=sys.argv[2])
thread.join()
again = get_or_create_session("local[1]", local_dir=sys.argv[1], jvm_log=sys.argv[2])
spark.range(3).write.format("delta").save(sys.argv[1] + "/t")
jvms = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"]
print(again.sparkContext.applicationId == spark.sparkContext.applicationId, len(jvms))
print(spark.read.format("delta").load(sys.argv[1] + "/t").count())
"""


def test_a_background_start_uses_the_jars_an_earlier_start_resolved_and_leaves_the_output_alone(
    spark,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    assert "delta-spark" in spark.sparkContext.getConf().get("spark.jars", "")
    from_ivy = not list(Path(DEFAULT_JARS_DIR).glob("*.jar"))  # else from .jars (`make jars`)
    if from_ivy:
        recorded = resolved_jars(DEFAULT_IVY_DIR)  # this worker's session started first
        assert any("io.delta_delta-spark" in p for p in recorded)
    log = tmp_path / "jvm.log"
    done = subprocess.run(
        [sys.executable, "-c", BACKGROUND_START, str(tmp_path), str(log)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # One session on one JVM, Delta working, and the main thread's line on the terminal ...
    assert done.stdout.splitlines() == ["printed while the JVM starts", "True 1", "3"]
    # ... while the JVM's own output went to its log, from the jars recorded (Ivy resolved nothing).
    jvm_output = log.read_text()
    assert "default log level" in jvm_output and "log4j" not in done.stderr
    assert not from_ivy or ":: resolution report ::" not in jvm_output


def test_a_background_start_leaves_a_resolving_start_to_the_foreground(tmp_path: Path) -> None:
    from airbnb_assets.platform.session import _start, local_conf

    conf = local_conf(extra_conf={"spark.jars.ivy": str(tmp_path / "ivy")})  # an empty Ivy cache
    assert _start("local[1]", conf, jars_dir=None, jvm_log=None, background=True) is None
    assert not (tmp_path / "ivy").exists()  # nothing resolved, no JVM started


def test_local_java_options_go_first_and_keep_the_metastores_and_the_settings(tmp_path: Path) -> None:
    from airbnb_assets.platform.session import LOCAL_JAVA_OPTIONS, local_conf

    assert local_conf()["spark.driver.extraJavaOptions"] == LOCAL_JAVA_OPTIONS
    folder = tmp_path / "metastore"
    with_metastore = local_conf(metastore_dir=str(folder))["spark.driver.extraJavaOptions"]
    assert with_metastore == f"{LOCAL_JAVA_OPTIONS} -Dderby.system.home={folder}"
    given = local_conf(extra_conf={"spark.driver.extraJavaOptions": "-XX:G1PeriodicGCInterval=0"})
    assert given["spark.driver.extraJavaOptions"].split()[-1] == "-XX:G1PeriodicGCInterval=0"  # the last wins
    # The settings' options add to the metastore's: Derby still writes its log in the metastore folder.
    both = local_conf(
        metastore_dir=str(folder), extra_conf={"spark.driver.extraJavaOptions": "-XX:+UseSerialGC"}
    )
    assert both["spark.driver.extraJavaOptions"] == f"{with_metastore} -XX:+UseSerialGC"


def test_the_local_driver_runs_with_the_local_java_options(spark) -> None:  # type: ignore[no-untyped-def]
    from airbnb_assets.platform.session import LOCAL_JAVA_OPTIONS

    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert set(LOCAL_JAVA_OPTIONS.split()) <= set(runtime.getInputArguments())


#: A new process that starts the product's local session with extra Java options (argv[3]) and
#: prints the archive option its driver got and a count: ``-Xshare:on`` makes the JVM refuse to
#: start unless it maps every archive it is given.
START_WITH_OPTIONS = """
import sys
from airbnb_assets.platform.session import get_or_create_session
spark = get_or_create_session(
    "local[1]", local_dir=sys.argv[1], jvm_log=sys.argv[2],
    extra_conf={"spark.driver.extraJavaOptions": sys.argv[3]},
)
options = spark.sparkContext.getConf().get("spark.driver.extraJavaOptions").split()
print([o for o in options if o.startswith("-XX:SharedArchiveFile=")], spark.range(3).count())
"""


def _start_in_a_new_process(tmp_path: Path, java_options: str, env: dict[str, str] | None = None) -> str:
    import os

    done = subprocess.run(
        [sys.executable, "-c", START_WITH_OPTIONS, str(tmp_path), str(tmp_path / "jvm.log"), java_options],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-2000:] + (tmp_path / "jvm.log").read_text()[-2000:]
    return done.stdout.strip()


def test_a_new_local_session_maps_the_class_archive_make_setup_built(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from airbnb_assets import spark_archive
    from airbnb_assets.platform.class_archive import archive_path
    from airbnb_assets.platform.session import local_jars

    # make setup built it (make test runs setup); a new process finds it, or dumps it if it is missing
    subprocess.run([sys.executable, "-m", "airbnb_assets.spark_archive"], check=True)
    built = archive_path(local_jars(DEFAULT_JARS_DIR, DEFAULT_IVY_DIR))
    assert built is not None and built.stat().st_size > 50_000_000
    assert spark_archive.build() == built  # found: nothing dumped
    # -Xshare:on: the JVM refuses to start if it cannot map the archive (another Java, class path).
    assert _start_in_a_new_process(tmp_path, "-Xshare:on") == f"['-XX:SharedArchiveFile={built}'] 3"


def test_an_archive_the_jvm_cannot_map_is_ignored(tmp_path: Path) -> None:
    from airbnb_assets.platform.class_archive import archive_path
    from airbnb_assets.platform.session import local_jars

    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    code = "from airbnb_assets.platform.class_archive import ARCHIVE_DIR; print(ARCHIVE_DIR)"
    folder = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    path = Path(folder.stdout.strip()) / archive_path(local_jars(DEFAULT_JARS_DIR, DEFAULT_IVY_DIR)).name  # type: ignore[union-attr]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\0" * 4096)  # a dump cut short
    # Given to the JVM, which starts without it and quietly: Spark works as without an archive.
    assert _start_in_a_new_process(tmp_path, "", env) == f"['-XX:SharedArchiveFile={path}'] 3"
    assert "cds" not in (tmp_path / "jvm.log").read_text().lower()


def test_no_archive_is_dumped_from_a_process_whose_session_runs(spark, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from airbnb_assets import spark_archive
    from airbnb_assets.platform import class_archive

    monkeypatch.setattr(class_archive, "ARCHIVE_DIR", tmp_path)  # no archive there
    monkeypatch.setattr(spark_archive, "ARCHIVE_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="a Spark session runs in this process"):
        spark_archive.build()  # it would stop this worker's session, started without the dump option
    assert list(tmp_path.iterdir()) == [] and spark.range(2).count() == 2
