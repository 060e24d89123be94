"""Runs that go wrong: two at once, bad dates on the command line, a run killed mid-way."""

from __future__ import annotations

import csv
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from airbnb_assets.cli import main
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.locks import WriterLock
from airbnb_assets.platform.tables import BRONZE, GOLD, LANDING_FILES, SILVER, SILVER_QUARANTINE, TABLES
from airbnb_assets_tests.conftest import SNAPSHOT_FILES

ROWS = 300


def small_snapshot(folder: Path, date: str, rows: int = ROWS) -> Path:
    """The first ``rows`` listings of the shipped snapshot of ``date``, as ``listings_<date>.csv``."""
    source = next(p for p in SNAPSHOT_FILES if date in p.name)
    encoding = "utf-8" if date.startswith("2019") else "mac_roman"
    with gzip.open(source, "rt", encoding=encoding, newline="") as fh:
        header, *body = list(csv.reader(fh))
    target = folder / f"listings_{date}.csv"
    with open(target, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *body[:rows]])
    return target


def test_second_concurrent_run_is_refused(
    cli_env: LakehouseResource, resources: dict, lakehouse: LakehouseResource, capsys: pytest.CaptureFixture
) -> None:
    holder = WriterLock(cli_env.root)
    holder.acquire({"run_id": "first-run"})
    try:
        assert main(["run", "--date", "2017-04-02"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "another run is writing to" in err[0] and "first-run" in err[0]
        # A run through Dagster (the UI, a test) is refused by the same lock, before any write.
        assert lakehouse.root == cli_env.root
        result = dg.materialize_to_memory([gold_listing_features], resources=resources, raise_on_error=False)
        assert not result.success and not lakehouse.exists(GOLD)
    finally:
        holder.release()
    assert dg.materialize_to_memory([gold_listing_features], resources=resources).success  # free again
    # The daemon's queue: daily_job carries the writer tag the shipped dagster.yaml limits to 1.
    from airbnb_assets.jobs import WRITER_TAG, daily_job

    assert daily_job.tags == WRITER_TAG
    config = Path(__file__).resolve().parents[2].joinpath("dagster.yaml").read_text(encoding="utf-8")
    assert "key: airbnb/writer" in config and "limit: 1" in config


def test_cli_date_and_source_errors_are_one_line(
    cli_env: LakehouseResource, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["run", "--date", "2999-01-01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2015-01-01 .." in err[0]
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--date", "2020-13-01"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["airbnb run: argument --date: '2020-13-01' is not a date (YYYY-MM-DD) (see --help)"]
    assert main(["land", "--source", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().endswith("no such folder")
    (tmp_path / "empty").mkdir()
    assert main(["land", "--source", str(tmp_path / "empty")]) == 2
    assert "no listings_YYYY-MM-DD" in capsys.readouterr().err


def _table(lakehouse: LakehouseResource, table: object):  # type: ignore[no-untyped-def]
    return DeltaTable(lakehouse.path(table)).to_pandas()  # type: ignore[arg-type]


def test_killed_run_then_rerun_loses_and_duplicates_nothing(
    cli_env: LakehouseResource, tmp_path: Path, spark
) -> None:  # type: ignore[no-untyped-def]
    files = [small_snapshot(Path(cli_env.landing_path), d) for d in ("2017-03-02", "2017-04-02")]
    bronze_log = Path(cli_env.path(BRONZE), "_delta_log")
    # The run in its own process group (session), so the kill reaches its JVM and nothing else.
    run = subprocess.Popen(
        [sys.executable, "-m", "airbnb_assets.cli", "run", "--date", "2017-04-02"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not (bronze_log.exists() and any(bronze_log.glob("*.json"))):
        assert run.poll() is None, "the run ended before bronze committed"
        assert time.monotonic() < deadline, "bronze never committed"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    assert not Path(cli_env.path(SILVER), "_delta_log").exists()  # killed before silver committed

    instance = dg.DagsterInstance.get()
    killed = instance.get_runs(dg.RunsFilter(job_name="daily_job"))
    assert [r.status for r in killed] == [dg.DagsterRunStatus.STARTED]  # what the kill left behind
    assert main(["run", "--date", "2017-04-02"]) == 0
    assert instance.get_run_by_id(killed[0].run_id).status == dg.DagsterRunStatus.FAILURE

    expected = {f.name: ROWS for f in files}
    tables = {t.name: _table(cli_env, t) for t in TABLES if Path(cli_env.path(t), "_delta_log").exists()}
    assert {BRONZE.name, SILVER.name, GOLD.name, LANDING_FILES.name} <= set(tables)  # all readable
    bronze = tables[BRONZE.name]
    assert {Path(f).name: n for f, n in bronze.groupby("_source_file").size().items()} == expected
    silver, gold = tables[SILVER.name], tables[GOLD.name]
    quarantine = tables.get(SILVER_QUARANTINE.name)
    quarantined = 0 if quarantine is None else len(quarantine)
    assert len(silver) + quarantined == len(bronze)  # nothing lost
    assert not silver.duplicated(["id", "snapshot_date"]).any()  # nothing duplicated
    assert not gold.duplicated(["listing_id", "snapshot_date"]).any() and len(gold) == len(silver)
    ledger = tables[LANDING_FILES.name]
    assert sorted(ledger[ledger.status == "ingested"].file_name) == sorted(expected)
