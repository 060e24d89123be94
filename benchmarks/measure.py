"""Measuring: the machine, and a command's wall time and peak memory over its whole process tree.

Each measured run is a separate process (its own JVM), started by :func:`measured`, which samples
the summed resident memory (RSS) of the process and all its descendants -- the Python driver, the
Spark JVM and Spark's Python workers -- every :data:`SAMPLE_SECONDS`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

SAMPLE_SECONDS = 0.2
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Measured:
    """One measured process: wall seconds, peak RSS of its tree in bytes, its output, exit code."""

    seconds: float
    peak_rss: int
    stdout: str
    returncode: int

    def last_json(self) -> dict[str, Any]:
        """The last line of stdout that is a JSON object (how the measured scripts report)."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                parsed: dict[str, Any] = json.loads(line)
                return parsed
        raise ValueError(f"no JSON line in the output:\n{self.stdout[-2000:]}")


def tree_rss(proc: psutil.Process) -> int:
    """Summed RSS of ``proc`` and its descendants (processes that vanish meanwhile are skipped)."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _sampling(pid: int) -> tuple[threading.Event, list[int], threading.Thread]:
    """Start sampling the tree RSS of ``pid`` every :data:`SAMPLE_SECONDS`; (stop, [peak], thread)."""
    watched, peak, done = psutil.Process(pid), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(watched))
            done.wait(SAMPLE_SECONDS)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return done, peak, thread


def measured(
    args: list[str], env: dict[str, str] | None = None, *, in_process: bool = False, timeout: float = 3600
) -> Measured:
    """Run ``python args...`` (``-m module ...`` or ``-c code ...``); time it, sample its tree's memory.

    By default in a new process from the repository root (its own JVM). ``in_process`` runs it in
    this process instead, with ``env`` set meanwhile (the smoke test: one shared Spark session);
    the memory is then this process's tree, whatever else it holds.
    """
    if in_process:
        return _in_process(args, env or {})
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    done, peak, sampler = _sampling(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
    result = Measured(time.perf_counter() - start, peak[0], out, proc.returncode)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{out[-4000:]}")
    return result


def _in_process(args: list[str], env: dict[str, str]) -> Measured:
    import contextlib
    import importlib
    import io

    saved = {k: os.environ.get(k) for k in env}
    saved_argv = sys.argv
    os.environ.update(env)
    out = io.StringIO()
    code = 0
    done, peak, sampler = _sampling(os.getpid())
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out):
            try:
                if args[0] == "-m":
                    importlib.import_module(args[1]).main(args[2:])
                else:
                    sys.argv = ["-c", *args[2:]]
                    exec(compile(args[1], "<benchmark>", "exec"), {"__name__": "__main__"})  # noqa: S102
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        sys.argv = saved_argv
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    if code != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed ({code}):\n{out.getvalue()[-4000:]}")
    return Measured(seconds, peak[0], out.getvalue(), code)


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (every process, JVMs included).

    User, nice, system and interrupt time: not idle or I/O wait, not time the hypervisor stole,
    and not ``guest`` (Linux already counts it in ``user``).
    """
    times = psutil.cpu_times()
    fields = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, f, 0.0) for f in fields))


def python_loop_seconds(iterations: int = 10_000_000, repeats: int = 3) -> float:
    """CPU seconds of a fixed pure-Python loop (the fastest of ``repeats``): this machine's speed now.

    The same code's times here vary by more than a third from hour to hour (a shared virtual
    machine): 2.8 s and 4.0-5.0 s for 30 million iterations two hours apart on 2026-12-06. Recorded
    with each run, it tells a slower machine from a slower product.
    """
    best = float("inf")
    for _ in range(repeats):
        start, total = time.process_time(), 0
        for i in range(iterations):
            total += i
        best = min(best, time.process_time() - start)
    return round(best, 3)


def machine() -> dict[str, Any]:
    """Cores, RAM, versions, the load average and :func:`python_loop_seconds` now (before a run starts)."""
    from importlib.metadata import version

    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "pyspark": version("pyspark"),
        "delta_spark": version("delta-spark"),
        "dagster": version("dagster"),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in load],
        "python_loop_seconds": python_loop_seconds(),
    }
