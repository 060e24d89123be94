"""Fixtures of the reliability tests: the environment a user of the ``airbnb`` command has."""

from __future__ import annotations

from pathlib import Path

import pytest

from airbnb_assets.environments import build_resources, current_settings
from airbnb_assets.platform.lakehouse import LakehouseResource


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LakehouseResource:
    """A fresh DEV lakehouse and Dagster instance selected through the environment, as a user has."""
    monkeypatch.setenv("AIRBNB_LAKEHOUSE_ROOT", str(tmp_path / "lakehouse"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    lakehouse: LakehouseResource = build_resources(current_settings())["lakehouse"]
    lakehouse.ensure_landing()
    return lakehouse
