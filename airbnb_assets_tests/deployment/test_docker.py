"""The self-hosted path: the Dockerfile lints, builds from uv.lock only, and the instance files load."""

from __future__ import annotations

import fnmatch
import importlib
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config

from airbnb_assets_tests.deployment.files import REPO, run, tool

SELF_HOSTED = REPO / "deploy" / "self-hosted"


def test_hadolint_passes_and_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    result = run(tool("hadolint"), "--no-color", str(REPO / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install dagster\n")
    result = run(tool("hadolint"), "--no-color", str(bad))
    assert result.returncode == 1 and "DL3007" in result.stdout and "DL3013" in result.stdout


def _context(tmp_path: Path) -> Path:
    """A copy of what the build context holds after .dockerignore (allow-list form: ``*``, ``!x``)."""
    rules = [r.strip() for r in (REPO / ".dockerignore").read_text().splitlines()]
    rules = [r for r in rules if r and not r.startswith("#")]
    assert rules[0] == "*", ".dockerignore is an allow-list"
    kept = [r[1:].rstrip("/") for r in rules if r.startswith("!")]
    context = tmp_path / "context"
    context.mkdir()
    for name in kept:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, context / name)
    return context


def test_dockerfile_installs_only_the_lock(tmp_path: Path) -> None:
    text = (REPO / "Dockerfile").read_text()
    runs = [line for line in text.splitlines() if line.startswith("RUN ")]
    installs = [line for line in runs if "install" in line or "sync" in line]
    assert installs and all("uv sync --frozen --no-dev" in line for line in installs), installs
    assert "COPY pyproject.toml uv.lock ./" in text
    context = _context(tmp_path)
    assert sorted(p.name for p in context.iterdir()) == sorted(
        ["pyproject.toml", "uv.lock", "README.md", "setup.cfg", "airbnb_assets"]
    )
    # The lock resolves for the image's install (no dev group) without touching the network's index.
    dry = run(
        tool("uv"),
        "sync",
        "--frozen",
        "--no-dev",
        "--no-editable",
        "--dry-run",
        cwd=context,
        env={"UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"), "UV_OFFLINE": "1"},
    )
    assert dry.returncode == 0, dry.stderr
    assert "+ dagster==1.13.27" in dry.stderr and "+ pytest==" not in dry.stderr
    # Without .git the version is the build argument.
    wheel = run(
        tool("uv"),
        "build",
        "--wheel",
        "--out-dir",
        str(tmp_path / "dist"),
        cwd=context,
        env={"SETUPTOOLS_SCM_PRETEND_VERSION": "9.8.7"},
    )
    assert wheel.returncode == 0, wheel.stderr
    (built,) = (tmp_path / "dist").glob("*.whl")
    assert built.name == "airbnb_assets-9.8.7-py3-none-any.whl"
    names = zipfile.ZipFile(built).namelist()
    assert "airbnb_assets/definitions.py" in names
    assert any(fnmatch.fnmatch(n, "airbnb_assets/data/airbnb_sf/listings_*.csv*") for n in names)


def test_self_hosted_workspace_points_at_the_image_code_server() -> None:
    (entry,) = yaml.safe_load((SELF_HOSTED / "workspace.yaml").read_text())["load_from"]
    assert entry["grpc_server"]["port"] == 4000 and entry["grpc_server"]["location_name"] == "airbnb_assets"
    text = (REPO / "Dockerfile").read_text()
    assert "EXPOSE 4000" in text and '"--port", "4000"' in text and '"airbnb_assets.definitions"' in text


@pytest.mark.parametrize("folder", [SELF_HOSTED, REPO])
def test_instance_files_validate_against_dagster(folder: Path) -> None:
    config, _ = dagster_instance_config(str(folder), "dagster.yaml")
    for key in ("run_coordinator", "run_launcher"):
        if key in config:
            data = config[key]
            cls = getattr(importlib.import_module(data["module"]), data["class"])
            result = process_config(cls.config_type(), data.get("config") or {})
            assert result.success, (folder, key, result.errors)
    limits = config.get("run_queue") or config["run_coordinator"]["config"]
    assert {"key": "airbnb/writer", "limit": 1} in limits["tag_concurrency_limits"]
