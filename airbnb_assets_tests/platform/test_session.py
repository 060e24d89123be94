"""The local session's first start: one process at a time fills an empty Ivy cache.

On a fresh machine two pytest workers started Spark at once and both resolved Delta's jars into
``~/.ivy2.5.2``; each corrupted the other's downloads and every test of one worker errored
(``unresolved dependency: org.roaringbitmap#shims;0.9.25: not found``). These tests hold the lock
from one process and watch another, without Spark (a real resolve downloads from Maven Central).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from airbnb_assets.platform.session import _first_resolve

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


def test_the_first_start_holds_the_lock_and_later_starts_do_not(tmp_path: Path) -> None:
    lock = tmp_path / ".airbnb_assets.lock"
    with _first_resolve(str(tmp_path), resolves=True):
        assert _other_process_finds(lock) == "held"
    assert _other_process_finds(lock) == "free"
    markers = list(tmp_path.glob(".airbnb_assets-delta-*.resolved"))
    assert len(markers) == 1
    # Once one start resolved the jars, starts run side by side: the lock is not taken.
    with _first_resolve(str(tmp_path), resolves=True):
        assert _other_process_finds(lock) == "free"


def test_a_failed_first_start_leaves_no_marker(tmp_path: Path) -> None:
    try:
        with _first_resolve(str(tmp_path), resolves=True):
            raise RuntimeError("Java gateway process exited")
    except RuntimeError:
        pass
    assert not list(tmp_path.glob("*.resolved"))
    assert _other_process_finds(tmp_path / ".airbnb_assets.lock") == "free"


def test_jars_from_the_jars_folder_take_no_lock(tmp_path: Path) -> None:
    with _first_resolve(str(tmp_path), resolves=False):
        pass
    assert list(tmp_path.iterdir()) == []


def test_spark_resolved_delta_into_the_folder_the_lock_guards(spark) -> None:  # type: ignore[no-untyped-def]
    conf = spark.sparkContext.getConf()
    if conf.get("spark.jars", ""):  # the jars came from .jars (`make jars`): nothing was resolved
        assert "delta-spark" in conf.get("spark.jars")
        return
    ivy = conf.get("spark.jars.ivy")
    assert ivy, "the session resolved Delta's jars into an Ivy folder it was not told of"
    assert list(Path(ivy).glob(".airbnb_assets-delta-*.resolved"))
    assert list(Path(ivy).glob("jars/io.delta_delta-spark*.jar"))
