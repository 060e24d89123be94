"""Dagster+: dagster_cloud.yaml passes the CLI's check, loads our definitions, and maps deployments."""

from __future__ import annotations

import importlib
from pathlib import Path

import dagster as dg
import yaml

from airbnb_assets.environments import Env, current_env
from airbnb_assets_tests.deployment.files import REPO, run, tool

CHECK = ["ci", "check", "--dagster-cloud-yaml-check", "error", "--dagster-cloud-connect-check", "skip"]


def _check(project: Path) -> tuple[int, str]:
    result = run(tool("dagster-cloud"), *CHECK, "--project-dir", str(project))
    return result.returncode, result.stdout + result.stderr


def test_dagster_cloud_ci_check_passes_and_rejects_an_invalid_layout(tmp_path: Path) -> None:
    code, output = _check(REPO)
    assert code == 0 and "Checked OK" in output, output
    config = yaml.safe_load((REPO / "dagster_cloud.yaml").read_text())
    location = config["locations"][0]
    location["code_source"]["attribute"] = location.pop("attribute")  # where it used to be
    (tmp_path / "dagster_cloud.yaml").write_text(yaml.safe_dump(config))
    code, output = _check(tmp_path)
    assert code == 1 and "only one of the following fields should be defined" in output


def test_the_location_loads_our_definitions() -> None:
    location = yaml.safe_load((REPO / "dagster_cloud.yaml").read_text())["locations"][0]
    assert location["location_name"] == "airbnb_assets"
    module = importlib.import_module(location["code_source"]["module_name"])
    defs = getattr(module, location["attribute"])
    assert isinstance(defs, dg.Definitions)
    assert defs.resolve_job_def("daily_job").name == "daily_job"  # the job deploy-test smoke-runs
    assert defs.resolve_job_def("bootstrap_job")


def test_registry_comes_from_the_environment() -> None:
    rendered = run(tool("dagster-cloud"), "ci", "template", env={"AIRBNB_IMAGE_REGISTRY": "acr.example.io/x"})
    assert rendered.returncode == 0, rendered.stderr
    assert yaml.safe_load(rendered.stdout)["locations"][0]["build"]["registry"] == "acr.example.io/x"


def test_deployments_map_to_environments() -> None:
    assert current_env({"DAGSTER_CLOUD_DEPLOYMENT_NAME": "prod"}) is Env.PROD
    assert current_env({"DAGSTER_CLOUD_DEPLOYMENT_NAME": "test"}) is Env.TEST
    branch = {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "prod", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1"}
    assert current_env(branch) is Env.TEST, "a branch named prod is still a branch deployment"
    assert current_env({"AIRBNB_ENV": "prod", **branch}) is Env.PROD, "AIRBNB_ENV wins"
    assert current_env({}) is Env.DEV


def test_latest_day_is_the_last_ended_day() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    result = run(tool("airbnb"), "latest-day")
    yesterday = dt.datetime.now(ZoneInfo("America/Los_Angeles")).date() - dt.timedelta(days=1)
    assert result.returncode == 0 and result.stdout.strip() == yesterday.isoformat(), result.stderr
