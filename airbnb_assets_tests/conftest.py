"""Shared fixtures: one Spark session for the whole suite, a fresh lakehouse per test."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from airbnb_assets.environments import SNAPSHOTS_DIR, Env, Settings, build_resources, settings_for
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.spark import SparkResource

SNAPSHOT_FILES = sorted(SNAPSHOTS_DIR.glob("listings_*.csv.gz"))
MAC_ROMAN = {"listings_2016-07-02.csv.gz", "listings_2017-03-02.csv.gz"}


def csv_data_rows(path: Path) -> list[list[str]]:
    """Data rows of a snapshot parsed independently with Python's csv module."""
    encoding = "mac_roman" if path.name in MAC_ROMAN else "utf-8"
    with gzip.open(path, "rt", encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))[1:]


@pytest.fixture(scope="session")
def spark_resource(tmp_path_factory: pytest.TempPathFactory) -> SparkResource:
    """The suite's Spark resource (the session is started once and shared)."""
    return SparkResource(local_dir=str(tmp_path_factory.mktemp("spark")))


@pytest.fixture(scope="session")
def spark(spark_resource: SparkResource):  # type: ignore[no-untyped-def]
    """The suite's SparkSession."""
    return spark_resource.session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """DEV settings whose lakehouse lives in this test's temporary folder."""
    return settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse")})


@pytest.fixture
def lakehouse(settings: Settings, spark_resource: SparkResource) -> LakehouseResource:
    """A lakehouse resource on an empty temporary root, with the suite's Spark."""
    built: LakehouseResource = build_resources(settings)["lakehouse"]
    resource = LakehouseResource(
        root=built.root, landing_path=built.landing_path, catalog=built.catalog, spark=spark_resource
    )
    resource.ensure_landing()
    return resource


@pytest.fixture
def resources(settings: Settings, spark_resource: SparkResource, lakehouse: LakehouseResource) -> dict:
    """Dagster resources for asset tests: the environment's, with the shared Spark and temp lakehouse."""
    return {**build_resources(settings), "lakehouse": lakehouse}
