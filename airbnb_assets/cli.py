"""Command line: land snapshots, run the daily job for a date, replay, look at a table.

``airbnb land --next`` · ``airbnb run --date 2017-04-02`` · ``airbnb replay`` ·
``airbnb show silver/listings`` · ``airbnb backtest`` · ``airbnb release FILE`` ·
``airbnb reject FILE`` · ``airbnb bootstrap`` · ``airbnb publish-wheel WHEEL`` ·
``airbnb latest-day``. See ``airbnb --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import dagster as dg

from airbnb_assets.environments import SNAPSHOTS_DIR, Settings, current_settings
from airbnb_assets.ingest import landing
from airbnb_assets.platform.integrity import MissingDataFiles, verify_tables
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import TABLES, by_name


class UsageError(Exception):
    """A command-line mistake: reported as one line on stderr, exit code 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def check_run_date(date: dt.date) -> str:
    """The partition key of ``date``, or a :class:`UsageError` naming the valid range."""
    from airbnb_assets.partitions import DAILY, TIMEZONE

    first, last = DAILY.get_first_partition_key(), DAILY.get_last_partition_key()
    if first is None or last is None or not first <= date.isoformat() <= last:
        raise UsageError(
            f"--date {date} is outside the daily partitions: {first} .. {last} "
            f"(the last day that has ended in {TIMEZONE})"
        )
    return date.isoformat()


def check_source(source: Path) -> Path:
    """``source`` if it is a folder holding at least one snapshot file, else a :class:`UsageError`."""
    if not source.is_dir():
        raise UsageError(f"--source {source}: no such folder")
    if not landing.snapshots(source):
        raise UsageError(f"--source {source}: no listings_YYYY-MM-DD[_suffix].csv[.gz] file in it")
    return source


def current_lakehouse() -> LakehouseResource:
    """The lakehouse resource of the environment this process runs in."""
    from airbnb_assets.environments import build_resources

    lakehouse: LakehouseResource = build_resources(current_settings())["lakehouse"]
    return lakehouse


def print_tables(lakehouse: LakehouseResource) -> None:
    """Print each table's row count (read with deltalake when tables are at their paths: no Spark)."""
    print(f"Tables under {lakehouse.root}:")
    for table in TABLES:
        print(f"  {table.name:<34} {lakehouse.row_count(table):>8} rows")


def print_summary(lakehouse: LakehouseResource, days: list, alert_log: str) -> None:
    """The replay's closing summary: tables, alerts sent and where, and the three things to open."""
    print_tables(lakehouse)
    alerts = sum(len(d.alerts) for d in days)
    kinds = sorted({a.get("kind", "?") for d in days for a in d.alerts})
    print(f"Alerts: {alerts} sent by drift_alert_sensor ({', '.join(kinds) or 'none'}) -> {alert_log}")
    print("Open next:")
    print(f"  1. the dashboard      {lakehouse.artifacts.path('dashboard', 'index.html')}")
    print("  2. the Dagster UI     make dev   (http://127.0.0.1:3000: runs, checks, sensor ticks)")
    print(
        f"  3. the MLflow UI      uv run mlflow ui --backend-store-uri sqlite:///{lakehouse.root}/_mlflow/mlflow.db"
    )


def cmd_land(args: argparse.Namespace) -> int:
    """``airbnb land``: move snapshot files into the landing zone."""
    target = current_settings().landing_path
    if args.reset:
        print(f"removed {landing.reset(target)} file(s) from {target}")
        if not (args.next or args.until or args.all):
            return 0
    source = check_source(args.source)
    for name, reason in landing.skipped(source):
        print(f"skipped {name!r}: {reason}")
    try:
        landed = landing.land(source, target, until=args.until, all_files=args.all)
    except landing.LandingError as exc:
        raise UsageError(str(exc)) from None
    for path in landed:
        print(f"landed {path}")
    if not landed:
        print(f"nothing left to land from {args.source}")
    return 0


def _claim(inst: dg.DagsterInstance) -> None:
    """Refuse to start while another run writes the lakehouse; report runs that died as failed."""
    from airbnb_assets import replay
    from airbnb_assets.platform.locks import LakehouseBusy

    lakehouse = current_lakehouse()
    if not lakehouse.lock_runs:  # Databricks: the run queue serialises runs, there is no local lock
        return
    try:
        closed = replay.claim(inst, lakehouse.root)
    except LakehouseBusy as exc:
        raise UsageError(str(exc)) from None
    for run_id in closed:
        print(f"run {run_id} was still marked started but its process is gone: marked failed")


def cmd_run(args: argparse.Namespace) -> int:
    """``airbnb run --date D``: run the daily job for one day, then the retrain the sensor requests."""
    from airbnb_assets import replay

    key = check_run_date(args.date)
    inst = replay.instance()
    _claim(inst)
    replay.start_spark_early()  # the JVM starts while MLflow's imports and the run load
    if not args.verbose:
        replay.quiet()
    day = replay.run_day(key, inst, verbose=args.verbose)
    if day.success:
        day = replay.run_requested_retrain(day, inst, verbose=args.verbose)
    print(day.line())
    return 0 if day.success else 1


def cmd_replay(args: argparse.Namespace) -> int:
    """``airbnb replay``: land each pending snapshot, run the daily job for its date, tick the sensor."""
    from airbnb_assets import replay

    settings = current_settings()
    check_source(args.source)
    if args.fresh:
        reset_lakehouse(settings)
    todo = landing.pending(args.source, settings.landing_path)
    if args.until:
        todo = [(d, p) for d, p in todo if d <= args.until]
    lakehouse = current_lakehouse()
    _claim(replay.instance())
    alert_log = lakehouse.artifacts.path("alerts", "alerts.jsonl")
    print(
        f"Replaying {len(todo)} snapshot(s) through daily_job on {settings.env.value} ({settings.env_root})"
    )
    if todo:
        replay.start_spark_early()  # the JVM starts while MLflow's imports and the first run load
    if not args.verbose:
        replay.quiet()
    days = replay.replay(
        todo, lambda path: landing.land_file(path, settings.landing_path), alert_log, verbose=args.verbose
    )
    print_summary(lakehouse, days, alert_log)
    return 0 if all(d.success for d in days) else 1


def reset_lakehouse(settings: Settings) -> None:
    """Delete a local environment's tables, checkpoints, artefacts and landing zone (DEV only)."""
    if settings.platform != "local":
        raise SystemExit(f"refusing to delete {settings.env_root}: only local environments can be reset")
    shutil.rmtree(settings.env_root, ignore_errors=True)
    print(f"reset {settings.env_root}")


def cmd_show(args: argparse.Namespace) -> int:
    """``airbnb show TABLE``: row count, schema and first rows of a table."""
    lakehouse = current_lakehouse()
    try:
        verify_tables(lakehouse)  # the log would still count rows whose files are gone
    except MissingDataFiles as exc:
        raise UsageError(str(exc)) from None
    if args.table is None:
        print_tables(lakehouse)
        return 0
    try:
        table = by_name(args.table)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if not lakehouse.exists(table):
        where = lakehouse.identifier(table) if lakehouse.catalog else lakehouse.path(table)
        raise UsageError(f"{args.table} has no data yet ({where}): run a day first (`airbnb run --date D`)")
    frame, version = lakehouse.to_pandas_versioned(table)
    print(f"{args.table}: {len(frame)} rows, Delta version {version}")
    print(frame.head(args.limit).to_string())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``airbnb`` argument parser."""
    parser = _Parser(prog="airbnb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    land = sub.add_parser("land", help="land snapshot files into the landing zone")
    which = land.add_mutually_exclusive_group()
    which.add_argument("--next", action="store_true", help="the next pending snapshot (default)")
    which.add_argument("--until", type=_date, help="every pending snapshot up to this date")
    which.add_argument("--all", action="store_true", help="every pending snapshot")
    land.add_argument("--reset", action="store_true", help="empty the landing zone first")
    land.add_argument(
        "--source", type=Path, default=SNAPSHOTS_DIR, help="folder of listings_YYYY-MM-DD.csv[.gz]"
    )
    land.set_defaults(func=cmd_land)

    run = sub.add_parser("run", help="run the daily job for one day, then the retrain the sensor requests")
    run.add_argument("--date", type=_date, required=True)
    run.add_argument("-v", "--verbose", action="store_true", help="show Dagster's logs")
    run.set_defaults(func=cmd_run)

    replay = sub.add_parser("replay", help="land each pending snapshot and run the job for its date")
    replay.add_argument("--until", type=_date)
    replay.add_argument("--fresh", action="store_true", help="reset the local lakehouse first")
    replay.add_argument("--source", type=Path, default=SNAPSHOTS_DIR)
    replay.add_argument("-v", "--verbose", action="store_true", help="show Dagster's logs for each day")
    replay.set_defaults(func=cmd_replay)

    show = sub.add_parser("show", help="list tables, or show one table (e.g. silver/listings)")
    show.add_argument("table", nargs="?")
    show.add_argument("--limit", type=int, default=5)
    show.set_defaults(func=cmd_show)

    from airbnb_assets.cli_operator import add_operator_commands

    add_operator_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``airbnb`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # `python -m airbnb_assets.cli` runs this file as __main__: call the package module's main, so
    # that cli_operator's UsageError (imported from airbnb_assets.cli) is the one main catches.
    from airbnb_assets.cli import main as package_main

    sys.exit(package_main())
