"""Spark jobs per step: where a daily run's Spark work goes (``python -m benchmarks.spark_jobs``).

Replays the given packaged snapshots into a fresh DEV lakehouse under ``--out`` (``daily_job``
then the retrain ``retrain_sensor`` requests, as ``airbnb run`` does) with Spark's event log on,
then counts the Spark jobs submitted during each step (Dagster's step stats give the step's
start and end) and names their call sites. Job counts do not depend on the machine's load; the
seconds do. Results go to ``<out>/spark_jobs.json`` and standard output; RESULTS.md quotes them.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def job_starts(lines: list[str]) -> list[tuple[float, str]]:
    """``(submission time in s, call site)`` of every ``SparkListenerJobStart`` of an event log."""
    starts = []
    for line in lines:
        event = json.loads(line)
        if event.get("Event") == "SparkListenerJobStart":
            site = event.get("Properties", {}).get("callSite.short", "") or "(Delta / Spark internal)"
            starts.append((event["Submission Time"] / 1000, site.replace(str(REPO) + "/", "")))
    return starts


def per_step(steps: list[tuple[str, float, float]], jobs: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """Each ``(step, start, end)`` with its seconds, the jobs submitted within it, and their call sites."""
    out = []
    for key, start, end in steps:
        sites = [site for at, site in jobs if start <= at <= end]
        out.append(
            {
                "step": key,
                "seconds": round(end - start, 1),
                "jobs": len(sites),
                "sites": dict(collections.Counter(sites).most_common()),
            }
        )
    return out


def _event_lines(folder: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(folder.rglob("events_*")):
        if path.suffix == ".zstd":
            raw = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
        else:
            raw = path.read_bytes()
        lines += raw.decode("utf-8").splitlines()
    return lines


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Replay ``--days`` into ``--out`` and print the Spark jobs of each step of each run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default="2015-05-04,2016-07-02", help="snapshot dates, comma-separated")
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "spark_jobs")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    (out / "events").mkdir(parents=True)
    (out / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", out / "home" / "dagster.yaml")
    os.environ.update(
        AIRBNB_ENV="dev",
        AIRBNB_LAKEHOUSE_ROOT=str(out / "lakehouse"),
        DAGSTER_HOME=str(out / "home"),
        PYSPARK_SUBMIT_ARGS="--conf spark.eventLog.enabled=true "
        f"--conf spark.eventLog.dir=file://{out / 'events'} pyspark-shell",
    )
    from airbnb_assets import replay
    from airbnb_assets.environments import SNAPSHOTS_DIR, current_settings
    from airbnb_assets.ingest.landing import land_file

    replay.quiet()
    inst = replay.instance()
    runs: list[tuple[str, str, str]] = []
    for date in args.days.split(","):
        land_file(SNAPSHOTS_DIR / f"listings_{date}.csv.gz", current_settings().landing_path)
        day = replay.run_day(date, inst)
        runs.append((date, "daily_job", day.run_id))
        if day.success:
            day = replay.run_requested_retrain(day, inst)
            if day.retrain_run_id:
                runs.append((date, "retrain_job", day.retrain_run_id))
        if not day.success:
            raise SystemExit(f"{date}: the run failed (DAGSTER_HOME={out / 'home'})")
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # the event log is complete once it stops
        SparkContext._active_spark_context.stop()
    jobs = job_starts(_event_lines(out / "events"))
    result = []
    for date, job, run_id in runs:
        stats = [
            (s.step_key, s.start_time, s.end_time)
            for s in inst.get_run_step_stats(run_id)
            if s.start_time is not None and s.end_time is not None
        ]
        steps = per_step(stats, jobs)
        result.append({"day": date, "job": job, "steps": steps})
        print(f"{date} {job}: {sum(s['jobs'] for s in steps)} Spark jobs")
        for s in steps:
            print(f"  {s['step']:<32} {s['seconds']:>6.1f} s {s['jobs']:>4} jobs")
    (out / "spark_jobs.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
