"""End to end: replay all six real snapshots through the daily job with the documented CLI."""

import csv
import datetime as dt
import gzip
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
from airbnb_assets.monitoring.alerts.sensor import drift_alert_sensor
from airbnb_assets.monitoring.dashboard.data import drift_over_time
from airbnb_assets.platform.tables import (
    BRONZE,
    DATA_QUALITY,
    DRIFT_METRICS,
    GOLD,
    LANDING_FILES,
    PREDICTIONS,
    PREDICTIONS_QUARANTINE,
    SILVER,
    SILVER_QUARANTINE,
)
from airbnb_assets.resources.monitoring import MonitoringResource
from airbnb_assets.resources.notifier.resource import NotifierResource
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
    bronze = _per_snapshot(replayed.read(BRONZE), "_snapshot_date")
    expected = {p.name[9:19]: len(csv_data_rows(p)) for p in SNAPSHOT_FILES}
    assert bronze == expected
    silver = _per_snapshot(replayed.read(SILVER), "snapshot_date")
    quarantine = _per_snapshot(replayed.read(SILVER_QUARANTINE), "snapshot_date")
    assert {d: silver[d] + quarantine.get(d, 0) for d in silver} == expected
    assert _per_snapshot(replayed.read(GOLD), "snapshot_date") == silver
    ledger = replayed.read(LANDING_FILES).collect()
    assert sorted((r["file_name"], r["status"], r["rows"]) for r in ledger) == sorted(
        (p.name, "ingested", expected[p.name[9:19]]) for p in SNAPSHOT_FILES
    )


def test_quarantine_matches_the_raw_files(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    """Placeholder prices (>= 10000, or 0) and absurd minimum nights are dropped, per file."""
    quarantine = replayed.read(SILVER_QUARANTINE)

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
    silver = replayed.read(SILVER).filter("snapshot_date = DATE'2019-06-02'")
    assert dict(silver.dtypes)["price"] == "double"
    got = {r["id"]: r["price"] for r in silver.select("id", "price").collect()}
    assert len(got) == 7574 and all(got[i] == raw[i] for i in got)
    assert silver.filter("cleaning_fee IS NOT NULL").count() > 6000
    assert silver.filter("host_is_superhost").count() > 0


def test_2019_10_renamed_header_fills_neighbourhood(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(SILVER).filter("snapshot_date = DATE'2019-10-14'")
    assert silver.count() == 8102
    assert silver.filter("neighbourhood IS NULL").count() == 0
    assert silver.select("neighbourhood").distinct().count() >= 36
    assert silver.filter("room_type = 'Hotel room'").count() == 207


def test_mac_roman_dates_typed(replayed, spark) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(SILVER).filter("snapshot_date = DATE'2016-07-02'")
    latest = silver.agg(F.max("last_review")).collect()[0][0]
    assert latest == dt.date(2016, 7, 2)
    assert silver.filter("last_review IS NULL AND number_of_reviews > 0").count() == 0


def _versions(e2e) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Every registered version's tags and run metrics, by version number."""
    client = e2e["mlflow"].activate()
    name = e2e["mlflow"].model_name
    return {
        str(v.version): {**v.tags, **client.get_run(v.run_id).data.metrics}
        for v in client.search_model_versions(f"name = '{name}'")
    }


def test_out_of_time_gate_on_the_real_snapshots(e2e) -> None:  # type: ignore[no-untyped-def]
    """One retrain per labelled snapshot; each judged on a snapshot it never saw; 2019-06 refused."""
    versions = _versions(e2e)
    by_day = {v["evaluated_on"]: v for v in versions.values()}
    assert sorted(by_day) == [p.name[9:19] for p in SNAPSHOT_FILES]
    first = min(by_day)
    assert "single snapshot: random 20%" in by_day[first]["reference"]  # a holdout of unseen listings
    for day, v in by_day.items():
        if day != first:  # out of time, and the model beats the group-median baseline on each
            assert all(s < day for s in v["evaluated_model_snapshots"].split(",")), day
            assert v["val_mae"] < v["baseline_mae"], day
    assert by_day["2019-10-14"]["val_mae"] <= 88.0  # trained on <= 2019-06-02, scored on 2019-10-14
    # 2019-06-02 is an extract without minimum_nights, availability_365, ...: not promoted.
    refused = by_day["2019-06-02"]
    assert refused["promotion"] == "refused" and refused["decision_reason"] == "contract"
    assert "minimum_nights" in refused["missing_features"].split(",")
    champion = e2e["mlflow"].activate().get_model_version_by_alias(e2e["mlflow"].model_name, "champion")
    assert champion.tags["trained_through"] == "2019-10-14" and champion.tags["refit"] == "true"
    assert champion.tags["training_snapshots"].split(",") == [p.name[9:19] for p in SNAPSHOT_FILES]


def test_predictions_for_each_replayed_day(e2e, replayed, spark) -> None:  # type: ignore[no-untyped-def]
    predictions = replayed.read(PREDICTIONS)
    by_day = {str(r[0]): r[1] for r in predictions.groupBy("run_date").count().collect()}
    gold = _per_snapshot(replayed.read(GOLD), "snapshot_date")
    first = min(gold)
    assert first not in by_day  # no model was trained before the first snapshot
    assert by_day == {d: n for d, n in gold.items() if d != first}  # every listing of later days
    assert predictions.filter("prediction IS NULL OR prediction <= 0").count() == 0
    assert replayed.read(PREDICTIONS_QUARANTINE).count() == 0
    assert predictions.filter("snapshot_date != run_date").count() == 0


def test_no_model_judged_on_rows_it_was_trained_on(e2e, replayed, spark) -> None:  # type: ignore[no-untyped-def]
    """Predictions, drift metrics, drift.json and the dashboard: only out-of-sample judgements."""
    versions = _versions(e2e)
    scored = replayed.read(PREDICTIONS).select("snapshot_date", "model_version").distinct().collect()
    for row in scored:
        trained = versions[row["model_version"]]["training_snapshots"].split(",")
        assert all(s < str(row["snapshot_date"]) for s in trained), row
    metrics = (
        replayed.read(DRIFT_METRICS)
        .filter("report = 'model' AND column = 'mae' AND run_date <= DATE'2019-10-14'")
        .collect()
    )
    assert len(metrics) == 5  # every replayed labelled day after the first
    status, _ = drift_over_time(replayed.read(DRIFT_METRICS))
    dashboard = {str(r.run_date): (r.model_mae, r.reference_mae) for r in status.itertuples()}
    for row in metrics:
        day, version = str(row["run_date"]), versions[row["model_version"]]
        assert all(s < day for s in version["training_snapshots"].split(","))
        assert row["reference"] == pytest.approx(version["val_mae"])  # its own out-of-sample MAE
        assert row["score"] / row["reference"] != pytest.approx(1.0, abs=1e-3)
        report = json.loads((Path(row["report_path"]).with_name("drift.json")).read_text())["model"]
        assert report["metrics"]["mae"] == pytest.approx(row["score"])
        assert report["mae_ratio"] == pytest.approx(row["score"] / row["reference"], rel=1e-3)
        assert dashboard[day] == pytest.approx((row["score"], row["reference"]))
    april = next(r for r in metrics if str(r["run_date"]) == "2017-04-02")
    assert versions[april["model_version"]]["trained_through"] == "2017-03-02"  # champion as of March
    assert april["drifted"] is False  # the near-identical month: no model drift


def test_quality_history_and_backfill_of_a_past_day(e2e, replayed, spark) -> None:  # type: ignore[no-untyped-def]
    """A past day re-run: ETL writes nothing, the day is re-scored by the model that served it then."""
    dq = replayed.read(DATA_QUALITY)
    assert dq.select("run_date").distinct().count() == 6
    assert dq.filter("committed = false").count() == 0
    versions = {t: replayed.version(t) for t in (BRONZE, SILVER, GOLD)}
    before = {str(r[0]): r[1] for r in replayed.read(PREDICTIONS).groupBy("run_date").count().collect()}
    assert main(["run", "--date", "2017-04-02"]) == 0
    assert {t: replayed.version(t) for t in versions} == versions
    after = replayed.read(PREDICTIONS)
    assert {str(r[0]): r[1] for r in after.groupBy("run_date").count().collect()} == before  # replaced
    used = {
        r[0] for r in after.filter("run_date = DATE'2017-04-02'").select("model_version").distinct().collect()
    }
    assert len(used) == 1
    assert _versions(e2e)[used.pop()]["trained_through"] == "2017-03-02"


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
    data = replayed.read(DRIFT_METRICS).filter("report = 'data'")
    return {str(r[0]): bool(r[1]) for r in data.select("run_date", "dataset_drift").distinct().collect()}


def test_drift_reports_on_the_real_arrivals(e2e, replayed, spark) -> None:  # type: ignore[no-untyped-def]
    verdicts = e2e["replay_verdicts"]
    assert verdicts["2017-04-02"] is False  # near-identical month: the no-drift control
    assert verdicts["2019-06-02"] is True and verdicts["2019-10-14"] is True
    metrics = replayed.read(DRIFT_METRICS)
    drifted = {
        r["column"]
        for r in metrics.filter("run_date = DATE'2019-10-14' AND report = 'data' AND drifted").collect()
    }
    assert {"minimum_nights", "availability_365", "room_type"} <= drifted
    report = metrics.filter("run_date = DATE'2019-10-14'").select("report_path").first()[0]
    assert Path(report).stat().st_size > 10_000 and Path(report).with_name("drift.json").exists()
    model = metrics.filter("report = 'model' AND column = 'mae' AND run_date <= DATE'2019-10-14'").collect()
    assert len(model) == 5 and all(r["score"] > 0 and r["reference"] > 0 for r in model)


def test_dashboard_rebuilt_with_the_whole_history(replayed) -> None:  # type: ignore[no-untyped-def]
    page = Path(replayed.artifacts.path("dashboard", "index.html"))
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
    assert not result.run_requests  # the daily job retrains after each report; the sensor only alerts

    # Evaluated again (next tick): no new drift results, so nothing is sent again.
    sent = len(received)
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.get(), resources=resources, cursor=result.cursor
    )
    again = drift_alert_sensor(context)
    assert len(received) == sent and not again.run_requests


BIG_IDS = ("1442282797961371321", "1442282797961371322")  # above 2^53: a double would merge them
ARRIVAL = "2019-11-14"


@pytest.fixture(scope="module")
def arrival(e2e, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A later arrival built from the real 2019-10-14 file: prices x 1.6, two 19-digit ids.

    Returns the sensor cursor taken just before its day ran, so alerts can be traced to it alone.
    """
    source = tmp_path_factory.mktemp("arrival")
    real = next(p for p in SNAPSHOT_FILES if "2019-10-14" in p.name)
    with gzip.open(real, "rt", encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    price = header.index("price")
    rows = rows[:3000]  # enough labelled rows to judge the model (100 needed), cheaper to run
    for i, row in enumerate(rows):
        if i < len(BIG_IDS):
            row[0] = BIG_IDS[i]
        if row[price]:
            row[price] = f"{float(row[price]) * 1.6:.2f}"
    with open(source / f"listings_{ARRIVAL}.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    quiet = {
        "notifier": NotifierResource(backend="log", log_path=str(source / "catch-up.jsonl")),
        "monitoring": MonitoringResource(env="dev"),
    }
    context = dg.build_sensor_context(instance=dg.DagsterInstance.get(), resources=quiet)
    cursor = drift_alert_sensor(context).cursor  # every report before the arrival, already seen
    assert main(["land", "--source", str(source), "--next"]) == 0
    assert main(["run", "--date", ARRIVAL]) == 0
    return cursor


def test_inflated_prices_flag_model_drift_with_one_alert(arrival, webhook, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, received = webhook
    resources = {
        "notifier": NotifierResource(backend="webhook", webhook_url=url, log_path=str(tmp_path / "a.jsonl")),
        "monitoring": MonitoringResource(env="dev"),
    }
    context = dg.build_sensor_context(instance=dg.DagsterInstance.get(), resources=resources, cursor=arrival)
    result = drift_alert_sensor(context)
    assert [(a["kind"], a["run_date"]) for a in received] == [("model_drift", ARRIVAL)]
    assert received[0]["details"]["mae"] > 1.1 * received[0]["details"]["reference_mae"]
    assert not result.run_requests


def test_ids_above_2_pow_53_stay_exact(arrival, replayed, spark) -> None:  # type: ignore[no-untyped-def]
    expected = {int(i) for i in BIG_IDS}
    tables = ((SILVER, "id"), (GOLD, "listing_id"), (PREDICTIONS, "listing_id"))
    for table, column in tables:
        df = replayed.read(table).filter(F.col(column).isin(*expected))
        assert {r[0] for r in df.select(column).collect()} == expected, table
    assert (
        replayed.read(SILVER_QUARANTINE)
        .filter(f"snapshot_date = DATE'{ARRIVAL}'")
        .filter("_quarantine_reason LIKE '%unique%'")
        .count()
        == 0
    )
