"""What an operator meets around the runs: landing odd entries, a full disk, ``airbnb show``
mistakes, a lost MLflow registry, and MLflow's telemetry."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from airbnb_assets.cli import main
from airbnb_assets.gold.assets import gold_listing_features
from airbnb_assets.ml.registry import recover_interrupted
from airbnb_assets.ml.serving import CHAMPION, RegistryMissing, check_registry, last_evaluated
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import GOLD, SILVER
from airbnb_assets_tests.conftest import build_silver
from airbnb_assets_tests.ml.conftest import register
from airbnb_assets_tests.reliability.test_runs import small_snapshot

REPO = Path(__file__).resolve().parents[2]


def test_land_refuses_links_folders_and_odd_names_and_says_why(
    cli_env: LakehouseResource, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    good = small_snapshot(source, "2019-10-14", rows=20)
    (source / "listings_2019-10-15.csv").symlink_to("/etc/passwd")  # would put its lines in bronze
    (source / "listings_2019-10-16.csv").mkdir()  # a folder named like a snapshot
    shutil.copy(good, source / "listings_2019-10-17.csv\n")  # "$" matched before the newline
    shutil.copy(good, source / "listings 2019-10-18.csv")
    shutil.copy(good, source / "listings_\uff12\uff10\uff11\uff19-10-19.csv")  # fullwidth digits
    (source / "README.md").write_text("not a snapshot, not worth a word")

    assert main(["land", "--source", str(source), "--all"]) == 0
    out = capsys.readouterr().out.splitlines()
    landing = Path(cli_env.landing_path)
    assert sorted(p.name for p in landing.iterdir()) == [good.name]  # the one regular snapshot
    skipped = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in out if line.startswith("skipped")}
    assert skipped == {
        "skipped 'listings 2019-10-18.csv'": "file name does not match listings_YYYY-MM-DD[_suffix].csv[.gz]",
        "skipped 'listings_2019-10-15.csv'": "a symbolic link: only regular files are landed",
        "skipped 'listings_2019-10-16.csv'": "not a regular file",
        "skipped 'listings_2019-10-17.csv\\n'": "control characters in the file name",
        "skipped 'listings_\uff12\uff10\uff11\uff19-10-19.csv'": (
            "file name does not match listings_YYYY-MM-DD[_suffix].csv[.gz]"
        ),
    }
    assert out[-1] == f"landed {landing / good.name}"


def test_land_on_a_full_disk_is_one_line_and_leaves_no_partial_file(
    cli_env: LakehouseResource, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    small_snapshot(source, "2019-10-14", rows=20)

    def full_disk(src: str, dst: str) -> None:
        Path(dst).write_bytes(b"half a file")  # what a copy leaves when the disk fills up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    assert main(["land", "--source", str(source), "--next"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"airbnb land: could not land listings_2019-10-14.csv into {Path(cli_env.landing_path)}: "
        "No space left on device"
    ]
    assert list(Path(cli_env.landing_path).iterdir()) == []  # no temporary file left behind


def test_show_mistakes_are_one_line(cli_env: LakehouseResource, capsys: pytest.CaptureFixture) -> None:
    assert main(["show", "silver/listing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("airbnb show: no table 'silver/listing'; the catalogue has:")
    assert main(["show", "silver/listings"]) == 2  # catalogued, but no day has run yet
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"airbnb show: silver/listings has no data yet ({cli_env.path(SILVER)}): "
        "run a day first (`airbnb run --date D`)"
    ]


def test_a_lost_registry_is_an_error_with_the_fix_not_a_new_v1(mlflow_store, labelled) -> None:  # type: ignore[no-untyped-def]
    client = mlflow_store.activate()
    check_registry(client, mlflow_store.model_name, 0, mlflow_store.tracking_uri)  # the first day: fine
    with pytest.raises(RegistryMissing) as lost:  # days were scored, the registry is empty
        check_registry(client, mlflow_store.model_name, 8102, mlflow_store.tracking_uri)
    message = str(lost.value)
    assert "holds 8102 rows scored by registered versions of 'airbnb_price'" in message
    assert mlflow_store.tracking_uri in message and "Restore it" in message
    register(client, mlflow_store.model_name, labelled)
    check_registry(client, mlflow_store.model_name, 8102, mlflow_store.tracking_uri)  # found: fine


def test_mlflow_sends_no_telemetry_unless_asked() -> None:
    """Outside CI (MLflow stays quiet there anyway): importing the project turns MLflow's telemetry off."""
    ci = {"CI", "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}
    env = {k: v for k, v in os.environ.items() if k not in ci}
    code = (
        "import airbnb_assets, mlflow; from mlflow.telemetry.client import get_telemetry_client; "
        "print(get_telemetry_client() is None)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr[-2000:]


def test_a_deleted_data_file_stops_the_next_run_and_show_with_the_fix(  # type: ignore[no-untyped-def]
    spark, resources: dict, lakehouse: LakehouseResource, tmp_path: Path, capsys, monkeypatch
) -> None:
    path = small_snapshot(tmp_path, "2019-10-14", rows=200)
    lakehouse.append(build_silver(spark, [path]).repartition(2), SILVER)  # a real silver table, 2 files
    # A file the latest version lists (a compaction may have tombstoned the two it wrote first).
    lost = Path(DeltaTable(lakehouse.path(SILVER)).file_uris()[0].removeprefix("file://"))
    lost.unlink()  # removed by hand: the log still lists it and still counts its rows

    result = dg.materialize_to_memory([gold_listing_features], resources=resources, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_failure]
    message = str(failure.event_specific_data)
    assert "MissingDataFiles" in message and "silver/listings" in message and lost.name in message
    assert "RESTORE TABLE" in message
    assert not lakehouse.exists(GOLD)  # nothing ran

    monkeypatch.setenv("AIRBNB_LAKEHOUSE_ROOT", str(tmp_path / "lakehouse"))  # the `settings` fixture's
    capsys.readouterr()  # the run's own log lines
    assert main(["show"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("airbnb show: silver/listings (") and "1 data file(s)" in line


def test_a_registration_killed_midway_is_completed_or_rolled_back_by_the_next_retrain(  # type: ignore[no-untyped-def]
    mlflow_store, labelled
) -> None:
    client, name = mlflow_store.activate(), mlflow_store.model_name
    v1 = register(client, name, labelled)
    assert recover_interrupted(client, name) == []  # nothing half-done

    # Killed after the model was registered and tagged, before the decision: no `promotion` tag,
    # the alias not moved, the MLflow run still RUNNING.
    v2 = register(client, name, labelled)
    client.delete_model_version_tag(name, v2.version, "promotion")
    client.set_registered_model_alias(name, CHAMPION, v1.version)
    client.update_run(v2.run_id, status="RUNNING")
    assert last_evaluated(client, name) == max(labelled.snapshot_date)  # v1's judgement only
    (line,) = recover_interrupted(client, name)
    assert line.startswith(f"rolled back v{v2.version}: its registration was killed before the decision")
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == [v1.version]
    assert client.get_run(v2.run_id).info.status == "FAILED"
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == v1.version

    # Killed after the decision (promoted), before the alias moved: the registration is completed.
    v3 = register(client, name, labelled)
    client.set_registered_model_alias(name, CHAMPION, v1.version)
    client.update_run(v3.run_id, status="RUNNING")
    (line,) = recover_interrupted(client, name)
    assert line.startswith(f"completed the registration of v{v3.version} (promoted, alias champion)")
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == v3.version
    assert client.get_run(v3.run_id).info.status == "FINISHED"
    assert recover_interrupted(client, name) == []  # once
