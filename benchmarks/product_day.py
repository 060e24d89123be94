"""One daily-job run in its own process, as the runner measures it (``python -m benchmarks.product_day``).

With ``AIRBNB_LAKEHOUSE_ROOT`` and ``DAGSTER_HOME`` set (the runner's prepared copy), it lands the
given files, runs ``daily_job`` for ``--date`` and then the retrain ``retrain_sensor`` requests,
exactly as ``airbnb run`` does (:func:`airbnb_assets.replay.run_day`,
:func:`~airbnb_assets.replay.run_requested_retrain`; ``--no-retrain``: the daily job alone), and
prints one JSON line: the runs' success, the retrain's own seconds, and the seconds of each step
from Dagster's step stats (``instance.get_run_step_stats``), not from logs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds of each step of a run (end - start), from the instance's step stats."""
    return {
        s.step_key: float(s.end_time - s.start_time)
        for s in instance.get_run_step_stats(run_id)
        if s.start_time is not None and s.end_time is not None
    }


def main(argv: list[str] | None = None) -> None:
    """Land ``--land`` files, run the daily job for ``--date``, print ``{"success", "steps", ...}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True)
    parser.add_argument("--land", type=Path, nargs="*", default=[])
    parser.add_argument("--no-retrain", action="store_true", help="run daily_job only, not the retrain")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from airbnb_assets import replay
    from airbnb_assets.environments import current_settings
    from airbnb_assets.ingest.landing import land_file

    replay.start_spark_early()  # as `airbnb run` does
    replay.quiet()
    for path in args.land:
        land_file(path, current_settings().landing_path)
    inst = replay.instance()
    day = replay.run_day(args.date, inst)
    daily_seconds = day.seconds
    if day.success and not args.no_retrain:
        day = replay.run_requested_retrain(day, inst)
    report = {
        "success": day.success,
        "run_id": day.run_id,
        "run_seconds": daily_seconds,
        "retrain_seconds": day.seconds - daily_seconds,  # the sensor's evaluation and retrain_job
        "retrain_steps": step_seconds(inst, day.retrain_run_id) if day.retrain_run_id else {},
        "process_seconds": time.perf_counter() - started,
        "rows": day.facts.get("listings"),
        "steps": step_seconds(inst, day.run_id),
    }
    print(json.dumps(report))
    raise SystemExit(0 if day.success else 1)


if __name__ == "__main__":
    main()
