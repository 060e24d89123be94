"""The operator's commands: backtest, release / reject a held file, bootstrap, publish-wheel, latest-day.

Registered on the ``airbnb`` parser by :func:`add_operator_commands`; the day-to-day commands
(land, run, replay, show) are in :mod:`airbnb_assets.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from airbnb_assets.cli import UsageError, current_lakehouse
from airbnb_assets.environments import current_settings
from airbnb_assets.platform.tables import GOLD


def cmd_backtest(args: argparse.Namespace) -> int:
    """``airbnb backtest``: rolling-origin backtest of the model on the labelled gold snapshots."""
    from airbnb_assets.gold.features import KEYS, TARGET
    from airbnb_assets.ml.backtest import market_backtest
    from airbnb_assets.ml.contract import CONTRACT
    from airbnb_assets.ml.train import backtest

    lakehouse = current_lakehouse()
    if not lakehouse.row_count(GOLD):
        print(f"no gold rows in {lakehouse.identifier(GOLD)}: run `airbnb replay` first", file=sys.stderr)
        return 1
    columns = [*KEYS, *[c.name for c in CONTRACT], TARGET]
    gold = lakehouse.to_pandas(GOLD, columns)
    labelled = gold[gold[TARGET].notna()]
    table = market_backtest(labelled) if args.market else backtest(labelled)
    print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"written to {args.out}")
    return 0


def cmd_held(args: argparse.Namespace) -> int:
    """``airbnb release FILE`` / ``airbnb reject FILE``: commit a held file, or keep it out of silver.

    Release commits a file held by a fail rule (offending rows stay quarantined); reject keeps it out
    (its rows stay quarantined, no longer held). Both run under the writer lock and print one line.
    """
    from airbnb_assets.platform.locks import LakehouseBusy, WriterLock
    from airbnb_assets.silver import held

    lakehouse = current_lakehouse()
    lock = WriterLock(lakehouse.root)
    try:
        lock.acquire({"run_id": f"airbnb {args.command} {args.file}"})
    except LakehouseBusy as exc:
        raise UsageError(str(exc)) from None
    try:
        today = dt.date.today().isoformat()
        if args.command == "release":
            outcome = held.release(lakehouse, args.file, run_date=today)
        else:
            outcome = held.reject(lakehouse, args.file, note=args.reason, run_date=today)
    except held.NothingHeld as exc:
        raise UsageError(str(exc)) from None
    finally:
        lock.release()
    print(outcome.line())
    return 0


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """``airbnb bootstrap``: create the catalog's schemas, landing volume and tables, idempotently."""
    from airbnb_assets.platform.bootstrap import run_bootstrap

    lakehouse = current_lakehouse()
    if current_settings().platform == "databricks" and not args.dry_run:  # Spark SQL needs a cluster
        from airbnb_assets import replay

        success, lines = replay.run_bootstrap_job(replay.instance(), args.landing_location)
        print(f"bootstrap of {lakehouse.catalog} (bootstrap_job on Databricks):")
        print("\n".join(lines))
        return 0 if success else 1
    report = run_bootstrap(lakehouse, landing_location=args.landing_location, dry_run=args.dry_run)
    print(f"bootstrap of {lakehouse.catalog or 'path-mode tables (no catalog)'} under {lakehouse.root}:")
    print("\n".join(report.statements if args.dry_run else report.lines()))
    return 0


def cmd_publish_wheel(args: argparse.Namespace) -> int:
    """``airbnb publish-wheel WHEEL``: upload this release's wheel to where the clusters install it from."""
    from airbnb_assets import __version__

    settings = current_settings()
    if settings.cluster is None or not settings.cluster.wheel:
        raise UsageError("publish-wheel is for TEST and PROD (AIRBNB_ENV=test|prod)")
    wheel = Path(args.wheel)
    if not wheel.is_file() or not wheel.name.startswith("airbnb_assets-") or wheel.suffix != ".whl":
        raise UsageError(f"{wheel} is not a wheel of airbnb_assets (uv build --wheel makes one)")
    from databricks.sdk import WorkspaceClient

    target = f"{settings.cluster.wheel.rsplit('/', 1)[0]}/{wheel.name}"
    with wheel.open("rb") as fh:
        WorkspaceClient(host=settings.databricks_host).files.upload(target, fh, overwrite=True)
    print(target)
    if target != settings.cluster.wheel:  # the code location's clusters install their own version
        print(f"note: this installation (airbnb_assets {__version__}) installs {settings.cluster.wheel}")
    return 0


def cmd_latest_day(args: argparse.Namespace) -> int:
    """``airbnb latest-day``: print the newest daily partition (what deploy-test.yml smoke-runs)."""
    from airbnb_assets.partitions import DAILY

    print(DAILY.get_last_partition_key())
    return 0


def add_operator_commands(sub: Any) -> None:
    """Add the operator's subcommands to the ``airbnb`` parser's subparsers."""
    bt = sub.add_parser(
        "backtest", help="rolling-origin backtest: train on snapshots < k, evaluate on k, vs the baseline"
    )
    bt.add_argument("--out", type=Path, help="also write the table as CSV (the model card's table)")
    bt.add_argument(
        "--market",
        action="store_true",
        help="the market study: every fold, long gap and inflation x1.3, with and without market "
        "context, bias and 80%% interval coverage",
    )
    bt.set_defaults(func=cmd_backtest)

    rel = sub.add_parser("release", help="commit a file held by a fail rule (see the runbook)")
    rel.add_argument("file", help="file name as in ops/landing_files, e.g. listings_2020-03-01.csv")
    rel.set_defaults(func=cmd_held)

    rej = sub.add_parser("reject", help="keep a file held by a fail rule out of silver (see the runbook)")
    rej.add_argument("file", help="file name as in ops/landing_files, e.g. listings_2020-03-01.csv")
    rej.add_argument("--reason", help="why (recorded in the quarantine and ops/landing_files)")
    rej.set_defaults(func=cmd_held)

    boot = sub.add_parser("bootstrap", help="create catalog schemas, landing volume and tables (idempotent)")
    boot.add_argument("--dry-run", action="store_true", help="print the SQL, run nothing")
    boot.add_argument("--landing-location", help="abfss:// location of an external landing volume")
    boot.set_defaults(func=cmd_bootstrap)

    pub = sub.add_parser(
        "publish-wheel",
        help="upload this release's wheel to the volume the Databricks clusters install it from",
    )
    pub.add_argument("wheel", help="the wheel `uv build --wheel` made (dist/airbnb_assets-<version>-*.whl)")
    pub.set_defaults(func=cmd_publish_wheel)

    latest = sub.add_parser(
        "latest-day",
        help="print the newest daily partition: the last ended day, which scores the newest files",
    )
    latest.set_defaults(func=cmd_latest_day)
