"""``make bench``: the benchmark suite, each scenario side by side in one run, results to JSON + RESULTS.md.

``uv run --frozen python -m benchmarks.run`` runs the four scenarios of :mod:`benchmarks.scenarios`
(``--only 1 3`` picks some), prints a progress line per step, writes
``benchmarks/results/<timestamp>.json`` and regenerates RESULTS.md (:func:`write_results_md`).
``--smoke`` runs one iteration of each on tiny data (what the smoke test does, in-process).
Prepared states are cached under ``.bench/`` (see :mod:`benchmarks.state`); the first full run
builds them (``--prepare`` only builds them). ``--results-md`` only regenerates RESULTS.md from the
recorded JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

from benchmarks import report, scenarios
from benchmarks.measure import machine
from benchmarks.state import BENCH, REAL_DAY, Bench

#: The smoke run: tiny data, one iteration, the first real snapshot as its prepared state. Its
#: real files are the packaged ones' first ``rows`` records (:func:`smoke_snapshots`).
SMOKE = {"until": "2015-05-04", "day": "2016-07-02", "rows": 2_000, "short": 0, "long": 1}


def smoke_snapshots(bench_root: Path) -> Path:
    """The smoke run's real files under ``bench_root``: the first records of the two it uses.

    The folder is named by the sample's size, so a kept ``.bench/`` never serves samples of another
    size (and the real state's cache key, which holds the folder, changes with it).
    """
    from airbnb_assets.environments import SNAPSHOTS_DIR
    from benchmarks.samples import head_records

    folder = bench_root / f"smoke-snapshots-{SMOKE['rows']}"
    for day in (SMOKE["until"], SMOKE["day"]):
        name = f"listings_{day}.csv.gz"
        if not (folder / name).exists():
            head_records(SNAPSHOTS_DIR / name, folder / name, int(SMOKE["rows"]))
    return folder


def smoke_bench(bench: Bench) -> Bench:
    """``bench`` as the smoke run's: the real state up to ``SMOKE["until"]``, from :func:`smoke_snapshots`."""
    bench.real_until, bench.snapshots = str(SMOKE["until"]), smoke_snapshots(bench.root)
    return bench


def write_results_md() -> Path:
    """Regenerate RESULTS.md's ``make bench`` section from ``benchmarks/results/*.json``."""
    return report.write_results_md()


def run(args: argparse.Namespace, bench: Bench, folder: Path = report.RESULTS_DIR) -> dict[str, Any]:
    """Run the selected scenarios; save and return the result (with the machine and timings)."""
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result: dict[str, Any] = {"started": started, "machine": machine(), "smoke": args.smoke, "scenarios": {}}
    result["parameters"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    if args.note:
        result["note"] = args.note
    steps = {
        1: ("real_day", lambda: scenarios.real_day(bench, args.iterations, args.real_day)),
        2: (
            "million_rows",
            lambda: scenarios.million_rows(bench, args.iterations_large, args.rows_large, args.floor_large),
        ),
        3: (
            "incremental",
            lambda: scenarios.incremental(
                bench, args.iterations_large, args.rows_incremental, args.short, args.long
            ),
        ),
        4: ("commands", scenarios.commands),
    }
    for number in args.only:
        name, call = steps[number]
        bench.echo(f"[{number}] {name} ...")
        start = time.perf_counter()
        result["scenarios"][name] = call()
        result["scenarios"][name]["scenario_seconds"] = time.perf_counter() - start
        bench.echo(f"[{number}] {name} done in {time.perf_counter() - start:.0f} s")
        report.save(result, folder)  # after each scenario: a later failure keeps what was measured
    path = report.save(result, folder)
    bench.echo(f"results: {path}")
    return result


def prepare(args: argparse.Namespace, bench: Bench) -> list[Path]:
    """Build (or find) the cached states the selected scenarios start from; measure nothing."""
    states = [bench.real_state()]
    if 3 in args.only:
        for days in (args.short, args.long):
            states.append(bench.history_state(days, args.rows_incremental, scenarios.SYNTH_FIRST))
    for state in states:
        bench.echo(f"  ready: {state}")
    return states


def parser() -> argparse.ArgumentParser:
    """The command line of ``make bench``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="1 iteration of each scenario on tiny data")
    p.add_argument("--only", type=int, nargs="+", default=[1, 2, 3, 4], choices=[1, 2, 3, 4])
    p.add_argument("--iterations", type=int, default=3, help="scenario 1 (median of)")
    p.add_argument("--iterations-large", type=int, default=1, help="scenarios 2 and 3 (median of)")
    p.add_argument("--rows-large", type=int, default=1_000_000, help="scenario 2's day")
    p.add_argument(
        "--floor-large", action="store_true", help="scenario 2: also run the bare script (about 2.5 min)"
    )
    p.add_argument("--rows-incremental", type=int, default=100_000, help="scenario 3's days")
    p.add_argument("--short", type=int, default=5, help="scenario 3: days of history, short")
    p.add_argument("--long", type=int, default=50, help="scenario 3: days of history, long")
    p.add_argument("--real-day", default=REAL_DAY, help="scenario 1: the real snapshot measured")
    p.add_argument("--bench-dir", type=Path, default=BENCH, help="caches and the live folder")
    p.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR, help="where the JSON goes")
    p.add_argument("--note", help="a line recorded with the results (the load, what else ran)")
    p.add_argument("--results-md", action="store_true", help="only regenerate RESULTS.md")
    p.add_argument("--prepare", action="store_true", help="only build (or find) the cached states")
    p.add_argument(
        "--time-commands",
        nargs="*",
        choices=["demo", "test"],
        help="only time `make demo` and/or `make test` (make bench-commands) and record them",
    )
    return p


def main(argv: list[str] | None = None, *, in_process: bool = False) -> dict[str, Any] | None:
    """Run the suite (or ``--prepare``, ``--results-md``, ``--time-commands``); return the result."""
    args = parser().parse_args(argv)
    if args.time_commands is not None:
        recorded = scenarios.time_commands(args.time_commands or ["demo", "test"])
        for name, record in recorded.items():
            print(f"{name}: {record['seconds']:.0f} s (passed: {record['passed']})")
        print(scenarios.COMMANDS_JSON)
        print(write_results_md())
        return None
    if args.results_md:
        print(write_results_md())
        return None
    bench = Bench(root=args.bench_dir, in_process=in_process, echo=lambda line: print(line, flush=True))
    if args.smoke:
        smoke_bench(bench)
        args.real_day, args.rows_large, args.rows_incremental = SMOKE["day"], SMOKE["rows"], SMOKE["rows"]
        args.short, args.long, args.iterations, args.iterations_large = SMOKE["short"], SMOKE["long"], 1, 1
        args.floor_large = True
    if args.prepare:
        prepare(args, bench)
        return None
    result = run(args, bench, args.results_dir)
    if not args.smoke:
        print(write_results_md())
    return result


if __name__ == "__main__":
    main()
