"""Shared fixtures: one Spark session per worker, a fresh lakehouse per test, one HTTP recorder,
one gold builder (the real snapshots through the pipeline's transforms) and one replayed lakehouse.

The replayed lakehouse (``airbnb replay`` of the six packaged snapshots) is built once per test
session and worker. Tests run with ``--dist loadfile``, so every test that uses it lives in
:data:`REPLAY_MODULE` and is marked ``e2e``: then the replay runs once, on one worker.
:func:`pytest_collection_modifyitems` schedules that file first (the replay is the suite's critical
path) and fails, before its fixtures start, any test that uses the replay elsewhere or unmarked.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from airbnb_assets.environments import SNAPSHOTS_DIR, Env, Settings, build_resources, settings_for
from airbnb_assets.gold.features import build_features
from airbnb_assets.ingest.bronze import read_landed_file
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.spark import SparkResource
from airbnb_assets.platform.tables import DRIFT_METRICS
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.silver.parse import parse_bronze
from airbnb_assets.silver.quality import evaluate, rank_duplicates, split

SNAPSHOT_FILES = sorted(SNAPSHOTS_DIR.glob("listings_*.csv.gz"))
MAC_ROMAN = {"listings_2016-07-02.csv.gz", "listings_2017-03-02.csv.gz"}
#: The snapshot dates of the packaged files, in order: the days ``airbnb replay`` runs.
REPLAY_DAYS: tuple[str, ...] = tuple(p.name[9:19] for p in SNAPSHOT_FILES)
#: The one test module whose tests use the replayed lakehouse (``--dist loadfile``: one worker).
REPLAY_MODULE = "airbnb_assets_tests/test_e2e.py"
#: Modules that take minutes (measured with ``--durations``), scheduled right after the replay so
#: that the files left for the end of the run, when both workers take from the queue, are short.
LONG_MODULES = (
    "airbnb_assets_tests/test_databricks.py",
    "airbnb_assets_tests/test_databricks_cluster.py",
    "airbnb_assets_tests/benchmarks/test_bench_smoke.py",
    "airbnb_assets_tests/test_assets.py",
    "airbnb_assets_tests/reliability/test_runs.py",
    "airbnb_assets_tests/reliability/test_silver.py",
    "airbnb_assets_tests/gold/test_assets.py",
    "airbnb_assets_tests/ml/test_contract.py",
    "airbnb_assets_tests/ml/test_registry.py",
    "airbnb_assets_tests/platform/test_catalog_mode.py",
)


def csv_data_rows(path: Path) -> list[list[str]]:
    """Data rows of a snapshot parsed independently with Python's csv module."""
    encoding = "mac_roman" if path.name in MAC_ROMAN else "utf-8"
    with gzip.open(path, "rt", encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))[1:]


def last_spark_job(lakehouse: LakehouseResource) -> int:
    """The newest Spark job id of the session: ids only grow, so ``after - before`` counts the jobs run
    (the status tracker keeps only the newest ``spark.ui.retainedJobs``, so its length cannot)."""
    return max(lakehouse.session.sparkContext.statusTracker().getJobIdsForGroup(None), default=-1)


def snapshot_file(day: str) -> Path:
    """The packaged snapshot file of ``day`` (``"2017-03-02"``)."""
    return next(p for p in SNAPSHOT_FILES if day in p.name)


# ---------------------------------------------------------------------------------- Spark, lakehouse

#: The suite's local sessions build the expression evaluators Spark uses outside whole-stage code
#: generation (projections, predicates, encoders, writers) interpreted, not generated. Spark
#: generates each one's Java source again whenever it builds one (it caches only the compiled class)
#: -- per task for plans of over 100 fields, such as Delta's own log -- which cost the suite's
#: few-thousand-row days more than it saved: 13 % of a worker JVM's samples (JFR), and
#: ``reliability/test_silver.py`` took 122 s and 163 CPU-seconds instead of 148 s and 203. The
#: product keeps Spark's default: a 1,000,000-row day took 286 s instead of about 190 without code
#: generation (``benchmarks/RESULTS.md``, figure 4). What Spark computes is the same either way.
#:
#: Their JVMs also collect garbage with the serial collector, not G1: the suite's days are small
#: and its local JVMs (the workers', the catalog-mode script's, the ``airbnb`` commands') keep
#: small heaps on a machine that the suite keeps busy, where G1's concurrent threads and write
#: barriers cost CPU that the other worker needs. Measured as A/B runs of a file's JVM CPU:
#: ``platform/test_catalog_mode.py`` 73.1 CPU-seconds instead of 85.6 (its wall time 61.1 s instead
#: of 65.1 s), ``reliability/test_silver.py`` 4-8 % less (two pairs). The product keeps G1 and
#: the heap settings of :data:`~airbnb_assets.platform.session.LOCAL_JAVA_OPTIONS` (which the
#: serial collector ignores), tuned for the memory of a 1,000,000-row day.
SUITE_SPARK_CONF = {
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.extraJavaOptions": "-XX:+UseSerialGC",
}


def suite_spark_conf(exported: dict[str, str]) -> dict[str, str]:
    """:data:`SUITE_SPARK_CONF` with the settings a user exported in ``AIRBNB_SPARK_CONF`` over it.

    The user's settings win, except that Java options add to the suite's serial collector instead
    of replacing it; a user's options that choose a collector themselves replace it (the JVM refuses
    two). Idempotent: the xdist workers merge again what the controller exported.
    """
    merged = {**SUITE_SPARK_CONF, **exported}
    key = "spark.driver.extraJavaOptions"
    ours, theirs = SUITE_SPARK_CONF[key], exported.get(key, "")
    if theirs and not theirs.startswith(ours) and not re.search(r"-XX:\+Use\w+GC\b", theirs):
        merged[key] = f"{ours} {theirs}"
    return merged


def pytest_configure(config: pytest.Config) -> None:
    """Every process the suite starts (``airbnb`` commands, scripts) runs its local Spark as the suite's."""
    exported = dict(settings_for(Env.DEV).local_spark_conf)  # refuses invalid JSON by the variable's name
    os.environ["AIRBNB_SPARK_CONF"] = json.dumps(suite_spark_conf(exported))


@pytest.fixture(scope="session")
def spark_resource(tmp_path_factory: pytest.TempPathFactory) -> SparkResource:
    """The suite's Spark resource (its session started once and shared), with ``AIRBNB_SPARK_CONF``."""
    extra = json.loads(os.environ["AIRBNB_SPARK_CONF"])  # what pytest_configure exported
    return SparkResource(local_dir=str(tmp_path_factory.mktemp("spark")), extra_conf=extra)


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


# ---------------------------------------------------------------------------------- browser

#: Set by CI (``.ci/run``): a missing browser fails the browser tests instead of skipping them.
REQUIRE_BROWSER = "AIRBNB_REQUIRE_BROWSER"


def find_browser() -> tuple[str, str] | None:
    """Chromium and chromedriver on the PATH (``make setup`` installs Debian's), or ``None``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    return (chromium, chromedriver) if chromium and chromedriver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium driven by Selenium. The suite installs nothing: ``make browser`` does.

    Without a browser the tests are skipped, unless ``AIRBNB_REQUIRE_BROWSER=1`` (CI): then they fail.
    """
    found = find_browser()
    if found is None:
        reason = "chromium and chromedriver not found on PATH: run `make browser` (`make test` does)"
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{reason}; {REQUIRE_BROWSER}=1 requires them", pytrace=False)
        pytest.skip(reason)
    chromium, chromedriver = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------------------------- ML

#: The two consecutive monthly snapshots the ML tests train and score on.
MONTHS = ("2017-03-02", "2017-04-02")


@pytest.fixture(scope="session")
def labelled(snapshot_gold_rows: pd.DataFrame) -> pd.DataFrame:
    """The same rows with a price, as pandas, for training."""
    months = snapshot_gold_rows[snapshot_gold_rows.snapshot_date.astype(str).isin(MONTHS)]
    return months[months.price.notna()].reset_index(drop=True)


@pytest.fixture
def mlflow_store(tmp_path) -> MlflowResource:  # type: ignore[no-untyped-def]
    """An empty local MLflow tracking store and registry."""
    store = tmp_path / "mlflow"
    return MlflowResource(
        tracking_uri=f"sqlite:///{store}/mlflow.db", artifact_location=str(store / "artifacts")
    )


# ---------------------------------------------------------------------------------- gold builder


def build_silver(spark, paths: list[Path]):  # type: ignore[no-untyped-def]
    """Silver rows of snapshot files, built in one batch with the pipeline's own transforms.

    Bronze read of each file, then silver parsing, duplicate ranking and the expectations (rows a
    drop rule rejects are left out): what the incremental silver step commits for those files.
    """
    frames = [read_landed_file(spark, probe_file(str(p))) for p in paths]
    bronze = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    return split(evaluate(rank_duplicates(parse_bronze(bronze)))).valid


def build_gold(spark, paths: list[Path]):  # type: ignore[no-untyped-def]
    """Gold rows of snapshot files: :func:`build_silver`, then the pipeline's feature transform."""
    return build_features(build_silver(spark, paths))


@pytest.fixture(scope="session")
def snapshot_gold(spark):  # type: ignore[no-untyped-def]
    """Gold rows of all six packaged snapshots as a cached Spark DataFrame (with ``_built_at``)."""
    gold = build_gold(spark, SNAPSHOT_FILES).cache()
    yield gold
    gold.unpersist()


@pytest.fixture(scope="session")
def snapshot_gold_rows(snapshot_gold) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The same rows as pandas (without ``_built_at``), sorted by snapshot and listing."""
    rows = snapshot_gold.drop("_built_at").toPandas()
    return rows.sort_values(["snapshot_date", "listing_id"], ignore_index=True)


# ---------------------------------------------------------------------------------- HTTP recorder


@dataclass(frozen=True)
class Request:
    """One request the recorder received, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


class _RecorderHandler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold a handler thread for longer

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        recorder: Recorder = self.server.recorder  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, answer = recorder.status, recorder.body
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorder.requests.append(Request(self.path, headers, body, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output quiet."""


@dataclass
class Recorder:
    """A real HTTP server on 127.0.0.1 that records every POST and answers ``status`` with ``body``.

    ``status`` and ``body`` may be changed while it runs (a webhook that fails, then recovers).
    """

    status: int = 204
    body: bytes = b""
    requests: list[Request] = field(default_factory=list)
    base: str = ""

    @property
    def url(self) -> str:
        """A webhook URL on the server."""
        return f"{self.base}/hooks/drift"

    def delivered(self) -> list[Any]:
        """JSON bodies of the requests answered with a 2xx status, in order."""
        return [r.json() for r in self.requests if 200 <= r.status < 300]


@contextmanager
def recording_server(status: int = 204, body: bytes = b"") -> Iterator[Recorder]:
    """Start a :class:`Recorder` on a free port; stopped (and its socket closed) on exit."""
    recorder = Recorder(status=status, body=body)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecorderHandler)
    server.daemon_threads = True
    server.recorder = recorder  # type: ignore[attr-defined]
    recorder.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A running HTTP recorder answering 204 (set ``.status``/``.body`` to change the answer)."""
    with recording_server() as running:
        yield running


# ---------------------------------------------------------------------------------- replayed lakehouse


@dataclass
class Replay:
    """A lakehouse and Dagster instance into which ``airbnb replay`` landed and ran every snapshot.

    ``verdicts`` and ``champion`` are read right after the replay, before any test runs a day
    again, so tests that re-run or add days cannot change them.
    """

    root: Path
    dagster_home: Path
    resources: dict[str, Any]
    instance: dg.DagsterInstance
    verdicts: dict[str, bool]
    champion: str

    @property
    def lakehouse(self) -> LakehouseResource:
        """The replayed environment's lakehouse resource."""
        lakehouse: LakehouseResource = self.resources["lakehouse"]
        return lakehouse

    @property
    def environ(self) -> dict[str, str]:
        """The variables with which ``airbnb`` commands act on this lakehouse and instance."""
        return {"AIRBNB_LAKEHOUSE_ROOT": str(self.root), "DAGSTER_HOME": str(self.dagster_home)}

    @contextmanager
    def cli_environment(self) -> Iterator[None]:
        """Set :attr:`environ` for the duration of the block (``airbnb run``, ``airbnb land``)."""
        with pytest.MonkeyPatch.context() as mp:
            for name, value in self.environ.items():
                mp.setenv(name, value)
            yield


def drift_verdicts(lakehouse: LakehouseResource) -> dict[str, bool]:
    """The dataset drift verdict of every run date in ``monitoring/drift_metrics``."""
    data = lakehouse.read(DRIFT_METRICS).filter("report = 'data'")
    return {str(r[0]): bool(r[1]) for r in data.select("run_date", "dataset_drift").distinct().collect()}


@pytest.fixture(scope="session")
def replay(tmp_path_factory: pytest.TempPathFactory, spark) -> Iterator[Replay]:  # type: ignore[no-untyped-def]
    """``airbnb replay`` of the six packaged snapshots into a new lakehouse and Dagster instance.

    Run once per session (every test using it is in :data:`REPLAY_MODULE`), exactly as documented:
    the CLI with ``AIRBNB_LAKEHOUSE_ROOT`` and ``DAGSTER_HOME`` set (one instance for all days, so
    the drift sensor can read their events). The variables are unset again afterwards; use
    :meth:`Replay.cli_environment` to run more ``airbnb`` commands on it.
    """
    from airbnb_assets.cli import main
    from airbnb_assets.environments import current_settings
    from airbnb_assets.ml.serving import champion_version

    root = tmp_path_factory.mktemp("e2e") / "lakehouse"
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRBNB_LAKEHOUSE_ROOT", str(root))
        mp.setenv("DAGSTER_HOME", str(home))
        assert main(["replay"]) == 0
        resources = build_resources(current_settings())
    mlflow = resources["mlflow"]
    champion = champion_version(mlflow.activate(), mlflow.model_name)
    assert champion is not None, "the replay promoted no model"
    instance = dg.DagsterInstance.from_config(str(home))
    yield Replay(
        root=root,
        dagster_home=home,
        resources=resources,
        instance=instance,
        verdicts=drift_verdicts(resources["lakehouse"]),
        champion=str(champion.version),
    )
    instance.dispose()


@pytest.fixture(scope="session")
def replayed(replay: Replay) -> LakehouseResource:
    """The replayed lakehouse."""
    return replay.lakehouse


_MISPLACED = pytest.StashKey[str]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests using the replay run first (the critical path), then :data:`LONG_MODULES`, then the rest
    in collection order (``--no-loadscope-reorder`` keeps this order). A test using the replay outside
    :data:`REPLAY_MODULE` or not marked ``e2e`` is failed before its fixtures are set up."""
    uses_replay = [i for i in items if "replay" in getattr(i, "fixturenames", ())]
    for item in uses_replay:
        if item.nodeid.split("::")[0] != REPLAY_MODULE or item.get_closest_marker("e2e") is None:
            item.stash[_MISPLACED] = (
                f"{item.nodeid} uses the replayed lakehouse: it belongs in {REPLAY_MODULE}, marked "
                "@pytest.mark.e2e, so that the replay runs once per session (--dist loadfile: one worker)"
            )
    others = [i for i in items if "replay" not in getattr(i, "fixturenames", ())]
    long_first = {m: rank for rank, m in enumerate(LONG_MODULES)}
    others.sort(key=lambda i: long_first.get(i.nodeid.split("::")[0], len(LONG_MODULES)))  # stable
    items[:] = uses_replay + others


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a misplaced replay test before the replay could start on a second worker."""
    if _MISPLACED in item.stash:
        pytest.fail(item.stash[_MISPLACED], pytrace=False)
