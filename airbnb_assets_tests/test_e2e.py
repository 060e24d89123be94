"""End to end: replay all six real snapshots through the daily job with the documented CLI.

Every test starts from the replayed lakehouse of ``conftest.replay`` and states what else it
assumes. Two kinds of test change it: the backfill of a past day, and the ``arrival`` fixture that
lands and runs a later day. So tests that read tables look only at the replayed days
(:data:`REPLAY_DAYS`), registry tests look versions up by their tags, and verdicts and the
champion come from ``replay``, read before any test ran: no test depends on which ran before it.

Every test that uses the replayed lakehouse lives in this module and is marked ``e2e``: with
``--dist loadfile`` the replay then runs once, on one worker (the conftest fails one placed elsewhere).
"""

import csv
import datetime as dt
import gzip
import json
import re
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.cli import main
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.monitoring.alerts.sensor import drift_alert_sensor
from airbnb_assets.monitoring.dashboard.data import (
    GROUP_KEYS,
    day_price_by_group,
    drift_over_time,
    price_by_group,
    scored_snapshots,
)
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
from airbnb_assets.resources.notifier.resource import NotifierResource, WebhookChannel
from airbnb_assets_tests.conftest import (
    REPLAY_DAYS,
    SNAPSHOT_FILES,
    Recorder,
    Replay,
    csv_data_rows,
    last_spark_job,
    snapshot_file,
)

pytestmark = pytest.mark.e2e

LAST_DAY = REPLAY_DAYS[-1]  # 2019-10-14
INSIDE = "actual_price BETWEEN prediction_p10 AND prediction_p90"
ARRIVAL = "2019-11-14"  # the day the `arrival` fixture adds after the replay
BIG_IDS = ("1442282797961371321", "1442282797961371322")  # above 2^53: a double would merge them


def _price(raw: str) -> float | None:
    cleaned = raw.replace("$", "").replace(",", "").strip()
    return float(cleaned) if cleaned else None


def _replayed_only(df, column: str):  # type: ignore[no-untyped-def]
    """Rows of the replayed days only (other tests may add a later day)."""
    return df.filter(F.col(column).cast("string").isin(*REPLAY_DAYS))


def _per_day(df, column: str) -> dict:  # type: ignore[no-untyped-def]
    return {str(r[0]): r[1] for r in _replayed_only(df, column).groupBy(column).count().collect()}


def _versions(replay: Replay) -> dict[str, dict]:
    """Every registered version's tags and run metrics, by version number."""
    client = replay.resources["mlflow"].activate()
    name = replay.resources["mlflow"].model_name
    return {
        str(v.version): {**v.tags, **client.get_run(v.run_id).data.metrics}
        for v in client.search_model_versions(f"name = '{name}'")
    }


def _model_mae_rows(replayed) -> list:  # type: ignore[no-untyped-def]
    """The model-drift MAE row of every replayed day that had a model."""
    metrics = _replayed_only(replayed.read(DRIFT_METRICS), "run_date")
    return metrics.filter("report = 'model' AND column = 'mae'").collect()


def test_every_row_accounted_for(replayed) -> None:  # type: ignore[no-untyped-def]
    bronze = _per_day(replayed.read(BRONZE), "_snapshot_date")
    expected = {p.name[9:19]: len(csv_data_rows(p)) for p in SNAPSHOT_FILES}
    assert bronze == expected
    silver = _per_day(replayed.read(SILVER), "snapshot_date")
    quarantine = _per_day(replayed.read(SILVER_QUARANTINE), "snapshot_date")
    assert {d: silver[d] + quarantine.get(d, 0) for d in silver} == expected
    assert _per_day(replayed.read(GOLD), "snapshot_date") == silver
    ledger = replayed.read(LANDING_FILES).filter(F.col("file_name").isin(*[p.name for p in SNAPSHOT_FILES]))
    assert sorted((r["file_name"], r["status"], r["rows"]) for r in ledger.collect()) == sorted(
        (p.name, "ingested", expected[p.name[9:19]]) for p in SNAPSHOT_FILES
    )


def test_quarantine_matches_the_raw_files(replayed) -> None:  # type: ignore[no-untyped-def]
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


def test_2019_06_dollar_prices_typed(replayed) -> None:  # type: ignore[no-untyped-def]
    path = snapshot_file("2019-06-02")
    raw = {int(r[0]): _price(r[9]) for r in csv_data_rows(path)}
    silver = replayed.read(SILVER).filter("snapshot_date = DATE'2019-06-02'")
    assert dict(silver.dtypes)["price"] == "double"
    got = {r["id"]: r["price"] for r in silver.select("id", "price").collect()}
    assert len(got) == 7574 and all(got[i] == raw[i] for i in got)
    assert silver.filter("cleaning_fee IS NOT NULL").count() > 6000
    assert silver.filter("host_is_superhost").count() > 0


def test_2019_10_renamed_header_fills_neighbourhood(replayed) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(SILVER).filter("snapshot_date = DATE'2019-10-14'")
    assert silver.count() == 8102
    assert silver.filter("neighbourhood IS NULL").count() == 0
    assert silver.select("neighbourhood").distinct().count() >= 36
    assert silver.filter("room_type = 'Hotel room'").count() == 207


def test_mac_roman_dates_typed(replayed) -> None:  # type: ignore[no-untyped-def]
    silver = replayed.read(SILVER).filter("snapshot_date = DATE'2016-07-02'")
    latest = silver.agg(F.max("last_review")).collect()[0][0]
    assert latest == dt.date(2016, 7, 2)
    assert silver.filter("last_review IS NULL AND number_of_reviews > 0").count() == 0


def test_out_of_time_gate_on_the_real_snapshots(replay: Replay) -> None:
    """One retrain per labelled snapshot; each judged on a snapshot it never saw; 2019-06 refused."""
    replayed_versions = [v for v in _versions(replay).values() if v["evaluated_on"] in REPLAY_DAYS]
    assert sorted(v["evaluated_on"] for v in replayed_versions) == list(REPLAY_DAYS)  # one per day
    by_day = {v["evaluated_on"]: v for v in replayed_versions}
    first = REPLAY_DAYS[0]
    assert "single snapshot: random 20%" in by_day[first]["reference"]  # a holdout of unseen listings
    for day, v in by_day.items():
        if day != first:  # out of time, and the model beats the group-median baseline on each
            assert all(s < day for s in v["evaluated_model_snapshots"].split(",")), day
            assert v["val_mae"] < v["baseline_mae"], day
    assert by_day[LAST_DAY]["val_mae"] <= 88.0  # trained on <= 2019-06-02, scored on 2019-10-14
    # 2019-06-02 is an extract without minimum_nights, availability_365, ...: not promoted.
    refused = by_day["2019-06-02"]
    assert refused["promotion"] == "refused" and refused["decision_reason"] == "contract"
    assert "minimum_nights" in refused["missing_features"].split(",")
    # The champion the replay left: the refit of the last day, trained on every snapshot.
    client = replay.resources["mlflow"].activate()
    champion = client.get_model_version(replay.resources["mlflow"].model_name, replay.champion)
    assert champion.tags["evaluated_on"] == LAST_DAY and champion.tags["promotion"] == "promoted"
    assert champion.tags["trained_through"] == LAST_DAY and champion.tags["refit"] == "true"
    assert champion.tags["training_snapshots"].split(",") == list(REPLAY_DAYS)


def _retrain_runs(replay: Replay) -> list[dg.DagsterRun]:
    return list(replay.instance.get_runs(dg.RunsFilter(job_name="retrain_job")))


def test_retrains_run_as_their_own_job_one_per_labelled_snapshot(replay: Replay) -> None:
    """daily_job never trains; retrain_sensor requested one retrain_job run per replayed snapshot."""
    models = replay.instance.fetch_materializations(dg.AssetKey(["ml", "price_model"]), limit=100).records
    runs = {r.tags["dagster/run_key"]: r for r in _retrain_runs(replay)}
    assert models and {m.run_id for m in models} <= {r.run_id for r in runs.values()}
    replayed = {f"snapshot-{d}": runs[f"snapshot-{d}"] for d in REPLAY_DAYS}  # one per snapshot
    for key, run in replayed.items():
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/sensor_name"] == "retrain_sensor"
        assert run.tags["dagster/partition"] == key.removeprefix("snapshot-")  # for the day that wrote it
        assert run.tags["airbnb/retrain_reason"].startswith("new labelled snapshot")


def test_predictions_for_each_replayed_day(replayed) -> None:  # type: ignore[no-untyped-def]
    predictions = _replayed_only(replayed.read(PREDICTIONS), "run_date")
    by_day = {str(r[0]): r[1] for r in predictions.groupBy("run_date").count().collect()}
    gold = _per_day(replayed.read(GOLD), "snapshot_date")
    first = REPLAY_DAYS[0]
    assert sorted(gold) == list(REPLAY_DAYS)
    assert first not in by_day  # no model was trained before the first snapshot
    assert by_day == {d: n for d, n in gold.items() if d != first}  # every listing of later days
    assert predictions.filter("prediction IS NULL OR prediction <= 0").count() == 0
    assert _replayed_only(replayed.read(PREDICTIONS_QUARANTINE), "run_date").count() == 0
    assert predictions.filter("snapshot_date != run_date").count() == 0


def test_each_day_served_at_its_level_with_an_interval_that_covers_80_percent(replayed) -> None:  # type: ignore[no-untyped-def]
    """Every prediction sits inside its own interval, moved to its day's level (the day's other
    listings); the day's coverage is recorded in monitoring/drift_metrics and drawn on the dashboard."""
    predictions = _replayed_only(replayed.read(PREDICTIONS), "run_date")
    assert (
        predictions.filter("NOT (prediction_p10 <= prediction AND prediction <= prediction_p90)").count() == 0
    )
    assert {r[0] for r in predictions.select("level_source").distinct().collect()} == {"snapshot"}
    stats = _replayed_only(replayed.read(DRIFT_METRICS), "run_date").filter("report = 'predictions'")
    coverage = {str(r["run_date"]): r["score"] for r in stats.filter("column = 'coverage_80'").collect()}
    assert sorted(coverage) == list(REPLAY_DAYS[1:])
    assert all(0.75 <= c <= 0.85 for c in coverage.values()), coverage
    measured = predictions.groupBy("run_date").agg(
        F.avg(F.when(F.col("actual_price") > 0, F.expr(INSIDE).cast("double")))
    )
    assert {str(r[0]): r[1] for r in measured.collect()} == pytest.approx(coverage)
    html = Path(replayed.artifacts.path("dashboard", "index.html")).read_text(encoding="utf-8")
    assert "interval coverage" in html and "80 % interval" in html


def test_no_model_judged_on_rows_it_was_trained_on(replay: Replay, replayed) -> None:  # type: ignore[no-untyped-def]
    """Predictions, drift metrics, drift.json and the dashboard: only out-of-sample judgements."""
    versions = _versions(replay)
    scored = replayed.read(PREDICTIONS).select("snapshot_date", "model_version").distinct().collect()
    assert scored  # every day scored so far, whatever later tests added
    for row in scored:
        trained = versions[row["model_version"]]["training_snapshots"].split(",")
        assert all(s < str(row["snapshot_date"]) for s in trained), row
    metrics = _model_mae_rows(replayed)
    assert sorted(str(r["run_date"]) for r in metrics) == list(REPLAY_DAYS[1:])  # each labelled day
    status, _ = drift_over_time(replayed.to_pandas(DRIFT_METRICS))
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


def test_backfill_of_a_past_day(replay: Replay, replayed) -> None:  # type: ignore[no-untyped-def]
    """A past day re-run: ETL writes nothing, the day is re-scored by the model that served it then.

    Starts from the replayed lakehouse, with or without later days: it compares the state just
    before its own run with the state after it. The re-run replaces the day's predictions and
    drift rows with the same content, so what other tests read is unchanged.
    """
    versions = {t: replayed.version(t) for t in (BRONZE, SILVER, GOLD)}
    before = {str(r[0]): r[1] for r in replayed.read(PREDICTIONS).groupBy("run_date").count().collect()}
    retrains = len(_retrain_runs(replay))
    with replay.cli_environment():
        assert main(["run", "--date", "2017-04-02"]) == 0
    assert len(_retrain_runs(replay)) == retrains  # nothing new labelled: no retrain requested
    assert {t: replayed.version(t) for t in versions} == versions
    after = replayed.read(PREDICTIONS)
    assert {str(r[0]): r[1] for r in after.groupBy("run_date").count().collect()} == before  # replaced
    used = {
        r[0] for r in after.filter("run_date = DATE'2017-04-02'").select("model_version").distinct().collect()
    }
    assert len(used) == 1
    assert _versions(replay)[used.pop()]["trained_through"] == "2017-03-02"


def test_quality_history_of_the_replayed_days(replayed) -> None:  # type: ignore[no-untyped-def]
    dq = replayed.read(DATA_QUALITY)
    days = {r[0] for r in dq.select("run_date").distinct().collect()}
    assert days - {ARRIVAL} == set(REPLAY_DAYS)  # every replayed day; a backfill adds no run date
    replayed_dq = dq.filter(F.col("run_date").isin(*REPLAY_DAYS))
    assert replayed_dq.filter("committed = false").count() == 0
    by_snapshot = {str(r[0]) for r in replayed_dq.select("snapshot_date").distinct().collect()}
    assert by_snapshot == set(REPLAY_DAYS)


def test_drift_reports_on_the_real_arrivals(replay: Replay, replayed) -> None:  # type: ignore[no-untyped-def]
    verdicts = replay.verdicts
    assert sorted(verdicts) == list(REPLAY_DAYS[1:])  # a report for every day a model scored
    assert verdicts["2017-04-02"] is False  # near-identical month: the no-drift control
    assert verdicts["2019-06-02"] is True and verdicts[LAST_DAY] is True
    metrics = replayed.read(DRIFT_METRICS)
    drifted = {
        r["column"]
        for r in metrics.filter("run_date = DATE'2019-10-14' AND report = 'data' AND drifted").collect()
    }
    assert {"minimum_nights", "availability_365", "room_type"} <= drifted
    data_rows = metrics.filter("run_date = DATE'2019-10-14' AND report = 'data'")
    report = data_rows.select("report_path").first()[0]
    assert Path(report).stat().st_size > 10_000 and Path(report).with_name("drift.json").exists()
    model = _model_mae_rows(replayed)
    assert len(model) == 5 and all(r["score"] > 0 and r["reference"] > 0 for r in model)


def test_dashboard_rebuilt_with_the_whole_history(replayed) -> None:  # type: ignore[no-untyped-def]
    """The page of the latest run (the replay's or a later one) shows every replayed day."""
    page = Path(replayed.artifacts.path("dashboard", "index.html"))
    html = page.read_text(encoding="utf-8")
    charts = ("predictions", "price-by-group", "drift", "drifted-features", "data-quality", "model-versions")
    missing = [c for c in charts if f'id="chart-{c}"' not in html]
    assert missing == []
    assert [d for d in REPLAY_DAYS if d not in html] == [] and "room_type_known" in html
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?://', html)
    assert external == [] and page.stat().st_size > 1_000_000  # plotly inlined: works offline


def test_dashboard_groups_from_the_days_files_are_sparks(replayed) -> None:  # type: ignore[no-untyped-def]
    """Each scored day's price-by-group table, read with delta-rs and aggregated by pandas, is the
    table Spark aggregates from the same rows: the same groups, medians, counts and types."""
    metrics = replayed.to_pandas(DRIFT_METRICS)
    for day in REPLAY_DAYS[1:]:  # the first day had no model: nothing scored
        snapshots = scored_snapshots(metrics, day)
        before = last_spark_job(replayed)
        local = day_price_by_group(replayed, day, snapshots, max_rows=20_000)
        assert last_spark_job(replayed) == before, day  # no Spark job
        spark = price_by_group(replayed.read(PREDICTIONS), replayed.read(GOLD), day, snapshots)
        assert len(local) > 20 and local["n"].sum() > 4_000, day
        pd.testing.assert_frame_equal(
            local.sort_values(GROUP_KEYS, ignore_index=True), spark.sort_values(GROUP_KEYS, ignore_index=True)
        )


def _sensor_resources(recorder: Recorder, log: Path) -> dict:
    return {
        "notifier": NotifierResource(log_path=str(log), channel=WebhookChannel(webhook_url=recorder.url)),
        "monitoring": MonitoringResource(env="dev"),
    }


def test_sensor_sends_one_alert_per_drift_episode(replay: Replay, recorder: Recorder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A sensor with no cursor reads every drift report of the instance; on the replayed days it
    alerts at the start of each data-drift episode (a backfill or a later day adds none there)."""
    verdicts = replay.verdicts
    days = sorted(verdicts)
    starts = [d for i, d in enumerate(days) if verdicts[d] and (i == 0 or not verdicts[days[i - 1]])]
    resources = _sensor_resources(recorder, tmp_path / "a.jsonl")
    with dg.build_sensor_context(instance=replay.instance, resources=resources) as context:
        result = drift_alert_sensor(context)
    data_alerts = [
        a for a in recorder.delivered() if a["kind"] == "data_drift" and a["run_date"] in REPLAY_DAYS
    ]
    assert [a["run_date"] for a in data_alerts] == starts
    assert "2019-06-02" in starts and LAST_DAY not in starts and "2017-04-02" not in starts
    first_2019 = next(a for a in data_alerts if a["run_date"] == "2019-06-02")
    assert first_2019["env"] == "dev" and "Data drift" in first_2019["title"]
    assert first_2019["report_url"].endswith("2019-06-02/data_drift.html")
    assert not result.run_requests  # retrain_sensor requests retrains; this sensor only alerts

    # Evaluated again (next tick): no new drift results, so nothing is sent again.
    sent = len(recorder.requests)
    next_tick = dg.build_sensor_context(instance=replay.instance, resources=resources, cursor=result.cursor)
    with next_tick as context:
        again = drift_alert_sensor(context)
    assert len(recorder.requests) == sent and not again.run_requests


@pytest.fixture(scope="module")
def arrival(replay: Replay, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A later arrival built from the real 2019-10-14 file: prices x 1.6, two 19-digit ids.

    Starts from the replayed lakehouse (with or without the backfill re-run: ``2019-11-14`` is
    after every replayed day either way), lands the file with ``airbnb land --next`` and runs its
    day. Returns the sensor cursor taken just before its day ran, so alerts can be traced to it alone.
    """
    source = tmp_path_factory.mktemp("arrival")
    with gzip.open(snapshot_file(LAST_DAY), "rt", encoding="utf-8", newline="") as fh:
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
        "notifier": NotifierResource(log_path=str(source / "catch-up.jsonl")),
        "monitoring": MonitoringResource(env="dev"),
    }
    with dg.build_sensor_context(instance=replay.instance, resources=quiet) as context:
        cursor = drift_alert_sensor(context).cursor  # every report before the arrival, already seen
    assert cursor is not None
    with replay.cli_environment():
        assert main(["land", "--source", str(source), "--next"]) == 0
        assert main(["run", "--date", ARRIVAL]) == 0
    return cursor


def test_inflated_prices_flag_model_drift_with_one_alert(  # type: ignore[no-untyped-def]
    replay: Replay, arrival, recorder: Recorder, tmp_path
) -> None:
    resources = _sensor_resources(recorder, tmp_path / "a.jsonl")
    with dg.build_sensor_context(instance=replay.instance, resources=resources, cursor=arrival) as context:
        result = drift_alert_sensor(context)
    received = recorder.delivered()
    assert [(a["kind"], a["run_date"]) for a in received] == [("model_drift", ARRIVAL)]
    details = received[0]["details"]  # served predictions follow the market; the model itself is stale
    assert "level" in details["reasons"] and details["market_level"] > 1.4
    assert not result.run_requests


def test_ids_above_2_pow_53_stay_exact(arrival, replayed) -> None:  # type: ignore[no-untyped-def]
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


def test_replay_ticked_the_sensor_and_wrote_its_alerts(replay: Replay) -> None:
    """`airbnb replay` (make demo) ticks drift_alert_sensor after each day, as the daemon would."""
    log = Path(replay.lakehouse.artifacts.path("alerts", "alerts.jsonl"))
    alerts = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    replayed_days = sorted(replay.verdicts)
    alerts = [a for a in alerts if a["run_date"] <= replayed_days[-1]]
    days = replayed_days
    starts = [
        d for i, d in enumerate(days) if replay.verdicts[d] and (i == 0 or not replay.verdicts[days[i - 1]])
    ]
    assert [a["run_date"] for a in alerts if a["kind"] == "data_drift"] == starts
    assert all(a["delivered"] and a["backend"] == "log" for a in alerts)
    # The daemon's own tick records: one per replayed day, in the instance `make dev` continues from.
    (state,) = [s for s in replay.instance.all_instigator_state() if s.name == "drift_alert_sensor"]
    ticks = replay.instance.get_ticks(state.instigator_origin_id, state.selector_id)
    assert len(ticks) >= len(days) + 1  # the first day has no drift report, and its tick still counts
    sent = sum(
        int(str(t.skip_reason).split(" ")[0]) for t in ticks if t.skip_reason and "alert" in t.skip_reason
    )
    assert sent == len(alerts)
