"""End to end: replay all six real snapshots through the daily job with the documented CLI."""

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import functions as F

from airbnb_assets.cli import main
from airbnb_assets.environments import build_resources, current_settings
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.monitoring.notify import NotifierResource
from airbnb_assets.monitoring.sensors import drift_alert_sensor
from airbnb_assets.resources.lakehouse import (
    BRONZE_LISTINGS,
    DATA_QUALITY,
    DRIFT_METRICS,
    GOLD_FEATURES,
    LANDING_FILES,
    PREDICTIONS,
    PREDICTIONS_QUARANTINE,
    SILVER_LISTINGS,
    SILVER_QUARANTINE,
)
from airbnb_assets.resources.monitoring import MonitoringResource
from airbnb_assets_tests.conftest import SNAPSHOT_FILES, csv_data_rows


def _price(raw: str) -> float | None:
    cleaned = raw.replace("$", "").replace(",", "").strip()
    return float(cleaned) if cleaned else None


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory, spark):  # type: ignore[no-untyped-def]
    """Resources of a lakehouse into which `airbnb replay` landed and processed all snapshots."""
    root = tmp_path_factory.mktemp("e2e") / "lakehouse"
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRBNB_LAKEHOUSE_ROOT", str(root))
    home = tmp_path_factory.mktemp("dagster_home")
    mp.setenv("DAGSTER_HOME", str(home))  # one instance for all days: the sensor reads its events
    assert main(["replay"]) == 0
    resources = build_resources(current_settings())
    # Drift verdicts as the replay left them (later tests re-run and backfill days).
    resources["replay_verdicts"] = _verdicts(resources["lakehouse"], spark)
    yield resources
    dg.DagsterInstance.get().dispose()
    mp.undo()


@pytest.fixture(scope="module")
def replayed(e2e):  # type: ignore[no-untyped-def]
    """The replayed lakehouse."""
    return e2e["lakehouse"]


def _per_snapshot(df, column: str) -> dict:  # type: ignore[no-untyped-def]
    return {str(r[0]): r[1] for r in df.groupBy(column).count().collect()}


def test_every_row_accounted_for(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    bronze = _per_snapshot(replayed.read(spark, BRONZE_LISTINGS), "_snapshot_date")
    expected = {p.name[9:19]: len(csv_data_rows(p)) for p in SNAPSHOT_FILES}
    assert bronze == expected
    silver = _per_snapshot(replayed.read(spark, SILVER_LISTINGS), "snapshot_date")
    quarantine = _per_snapshot(replayed.read(spark, SILVER_QUARANTINE), "snapshot_date")
    assert {d: silver[d] + quarantine.get(d, 0) for d in silver} == expected
    assert _per_snapshot(replayed.read(spark, GOLD_FEATURES), "snapshot_date") == silver
    ledger = replayed.read(spark, LANDING_FILES).collect()
    assert sorted((r["file_name"], r["status"], r["rows"]) for r in ledger) == sorted(
        (p.name, "ingested", expected[p.name[9:19]]) for p in SNAPSHOT_FILES
    )


def test_quarantine_matches_the_raw_files(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    """Placeholder prices (>= 10000, or 0) and absurd minimum nights are dropped, per file."""
    quarantine = replayed.read(spark, SILVER_QUARANTINE)

    def dropped(row: list[str], columns: list[str]) -> bool:
        price = _price(row[columns.index("price")])
        if price is not None and not 0 < price < 10000:
            return True
        return "minimum_nights" in columns and not 1 <= float(row[columns.index("minimum_nights")]) <= 1125

    for path in SNAPSHOT_FILES:
        columns = probe_file(str(path)).columns
        expected = sum(dropped(r, columns) for r in csv_data_rows(path))
        got = quarantine.filter(F.col("snapshot_date") == path.name[9:19]).count()
        assert got == expected, path.name


def test_2019_06_dollar_prices_typed(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    path = next(p for p in SNAPSHOT_FILES if "2019-06-02" in p.name)
    raw = {int(r[0]): _price(r[9]) for r in csv_data_rows(path)}
    silver = replayed.read(spark, SILVER_LISTINGS).filter("snapshot_date = DATE'2019-06-02'")
    assert dict(silver.dtypes)["price"] == "double"
    got = {r["id"]: r["price"] for r in silver.select("id", "price").collect()}
    assert len(got) == 7574 and all(got[i] == raw[i] for i in got)
    assert silver.filter("cleaning_fee IS NOT NULL").count() > 6000
    assert silver.filter("host_is_superhost").count() > 0


def test_2019_10_renamed_header_fills_neighbourhood(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(spark, SILVER_LISTINGS).filter("snapshot_date = DATE'2019-10-14'")
    assert silver.count() == 8102
    assert silver.filter("neighbourhood IS NULL").count() == 0
    assert silver.select("neighbourhood").distinct().count() >= 36
    assert silver.filter("room_type = 'Hotel room'").count() == 207


def test_mac_roman_dates_typed(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(spark, SILVER_LISTINGS).filter("snapshot_date = DATE'2016-07-02'")
    latest = silver.agg(F.max("last_review")).collect()[0][0]
    assert latest == dt.date(2016, 7, 2)
    assert silver.filter("last_review IS NULL AND number_of_reviews > 0").count() == 0


def test_champion_beats_the_group_median_baseline(e2e) -> None:  # type: ignore[no-untyped-def]
    """The model trained on 2015-2019-06 and validated on the held-out 2019-10 snapshot."""
    import mlflow

    mlflow_resource = e2e["mlflow"]
    client = mlflow_resource.activate()
    runs = mlflow.search_runs(experiment_names=[mlflow_resource.experiment_name])
    assert len(runs) == 6  # one model per replayed snapshot (each brings new labelled rows)
    champion = client.get_model_version_by_alias(mlflow_resource.model_name, "champion")
    run = client.get_run(champion.run_id)
    assert run.data.params["validation"] == "latest snapshot 2019-10-14"
    assert run.data.metrics["val_mae"] < 0.97 * run.data.metrics["baseline_mae"]
    assert run.data.metrics["val_r2"] > run.data.metrics["baseline_r2"]


def test_predictions_for_each_replayed_day(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    predictions = replayed.read(spark, PREDICTIONS)
    by_day = {str(r[0]): r[1] for r in predictions.groupBy("run_date").count().collect()}
    gold = _per_snapshot(replayed.read(spark, GOLD_FEATURES), "snapshot_date")
    assert by_day == gold  # every listing of each day's snapshot is scored
    assert predictions.filter("prediction IS NULL OR prediction <= 0").count() == 0
    assert replayed.read(spark, PREDICTIONS_QUARANTINE).count() == 0
    assert predictions.filter("snapshot_date != run_date").count() == 0


def test_quality_history_and_idempotent_rerun(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    dq = replayed.read(spark, DATA_QUALITY)
    assert dq.select("run_date").distinct().count() == 6
    assert dq.filter("committed = false").count() == 0
    versions = {t: replayed.version(spark, t) for t in (BRONZE_LISTINGS, SILVER_LISTINGS, GOLD_FEATURES)}
    predictions = replayed.read(spark, PREDICTIONS).count()
    assert main(["run", "--date", "2019-10-14"]) == 0
    assert {t: replayed.version(spark, t) for t in versions} == versions
    assert replayed.read(spark, PREDICTIONS).count() == predictions  # the day is replaced, not added


def test_backfill_of_a_past_day(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    """A past day is re-scored with today's champion; other days are untouched."""
    before = {
        str(r[0]): r[1] for r in replayed.read(spark, PREDICTIONS).groupBy("run_date").count().collect()
    }
    assert main(["run", "--date", "2017-04-02"]) == 0
    after = replayed.read(spark, PREDICTIONS)
    assert {str(r[0]): r[1] for r in after.groupBy("run_date").count().collect()} == before
    versions = {
        r[0] for r in after.filter("run_date = DATE'2017-04-02'").select("model_version").distinct().collect()
    }
    assert versions == {"6"}


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/drift", received
    server.shutdown()
    thread.join(timeout=5)


def _verdicts(replayed, spark) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    data = replayed.read(spark, DRIFT_METRICS).filter("report = 'data'")
    return {str(r[0]): bool(r[1]) for r in data.select("run_date", "dataset_drift").distinct().collect()}


def test_drift_reports_on_the_real_arrivals(e2e, replayed, spark) -> None:  # type: ignore[no-untyped-def]
    verdicts = e2e["replay_verdicts"]
    assert verdicts["2017-04-02"] is False  # near-identical month: the no-drift control
    assert verdicts["2019-06-02"] is True and verdicts["2019-10-14"] is True
    metrics = replayed.read(spark, DRIFT_METRICS)
    drifted = {
        r["column"]
        for r in metrics.filter("run_date = DATE'2019-10-14' AND report = 'data' AND drifted").collect()
    }
    assert {"minimum_nights", "availability_365", "room_type"} <= drifted
    report = metrics.filter("run_date = DATE'2019-10-14'").select("report_path").first()[0]
    assert Path(report).stat().st_size > 10_000 and Path(report).with_name("drift.json").exists()
    model = metrics.filter("report = 'model' AND column = 'mae'").collect()
    assert len(model) == 6 and all(r["score"] > 0 and r["reference"] > 0 for r in model)


def test_dashboard_rebuilt_with_the_whole_history(replayed) -> None:  # type: ignore[no-untyped-def]
    page = Path(replayed.artifacts("dashboard")) / "index.html"
    html = page.read_text(encoding="utf-8")
    charts = ("predictions", "price-by-group", "drift", "drifted-features", "data-quality", "model-versions")
    missing = [c for c in charts if f'id="chart-{c}"' not in html]
    assert missing == []
    assert ("2019-10-14" in html, "room_type_known" in html) == (True, True)
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?://', html)
    assert external == [] and page.stat().st_size > 1_000_000  # plotly inlined: works offline


def test_sensor_sends_one_alert_per_drift_episode(e2e, webhook, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, received = webhook
    verdicts = e2e["replay_verdicts"]
    days = sorted(verdicts)
    starts = [d for i, d in enumerate(days) if verdicts[d] and (i == 0 or not verdicts[days[i - 1]])]
    resources = {
        "notifier": NotifierResource(backend="webhook", webhook_url=url, log_path=str(tmp_path / "a.jsonl")),
        "monitoring": MonitoringResource(env="dev"),
    }
    context = dg.build_sensor_context(instance=dg.DagsterInstance.get(), resources=resources)
    result = drift_alert_sensor(context)
    data_alerts = [a for a in received if a["kind"] == "data_drift"]
    assert [a["run_date"] for a in data_alerts] == starts
    assert "2019-06-02" in starts and "2019-10-14" not in starts and "2017-04-02" not in starts
    first_2019 = next(a for a in data_alerts if a["run_date"] == "2019-06-02")
    assert first_2019["env"] == "dev" and "Data drift" in first_2019["title"]
    assert first_2019["report_url"].endswith("2019-06-02/data_drift.html")
    model_alerts = [a for a in received if a["kind"] == "model_drift"]
    assert len(result.run_requests) == len(model_alerts)
    assert all(r.job_name == "retrain_job" for r in result.run_requests)

    # Evaluated again (next tick): no new drift results, so nothing is sent again.
    sent = len(received)
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.get(), resources=resources, cursor=result.cursor
    )
    again = drift_alert_sensor(context)
    assert len(received) == sent and not again.run_requests
