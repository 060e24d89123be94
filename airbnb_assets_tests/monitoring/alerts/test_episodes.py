"""Drift episodes: one alert when an episode starts, none while it lasts, none for a backfill."""

import json

from airbnb_assets.monitoring.alerts.episodes import DriftObservation, EpisodeState, observe


def _obs(day: str, data: bool = False, model: bool = False) -> DriftObservation:
    return DriftObservation(
        day,
        data,
        ["room_type"] if data else [],
        0.5 if data else 0.0,
        model,
        model_mae=130.0 if model else 95.0,
        reference_mae=96.0,
        report_url=f"/r/{day}/data_drift.html",
        model_report_url=f"/r/{day}/model_drift.html",
        model_reasons=("mae", "level") if model else (),
        band_coverage=0.74,
        market_level=1.31 if model else 1.02,
    )


def _kinds(state: EpisodeState, obs: DriftObservation) -> list[tuple[str, str | None]]:
    return [(a.kind, a.run_date) for a in observe(state, obs, "dev").alerts]


def test_episode_state_round_trips_through_json() -> None:
    state = EpisodeState()
    obs = DriftObservation("2020-01-02", True, ["room_type"], 0.5, False)
    assert len(observe(state, obs, "dev").alerts) == 1
    restored = EpisodeState.from_json(json.loads(json.dumps(state.to_json())))
    assert restored == state
    assert (
        observe(restored, DriftObservation("2020-01-03", True, ["room_type"], 0.5, False), "dev").alerts == []
    )
    assert EpisodeState.from_json(None) == EpisodeState()


def test_one_alert_at_the_start_of_each_episode() -> None:
    state = EpisodeState()
    assert _kinds(state, _obs("2020-01-01")) == []
    assert _kinds(state, _obs("2020-01-02", data=True)) == [("data_drift", "2020-01-02")]
    assert _kinds(state, _obs("2020-01-03", data=True)) == []  # still the same episode
    step = observe(state, _obs("2020-01-04"), "dev")
    assert step.alerts == [] and step.notes == ["2020-01-04: data drift cleared"]
    assert _kinds(state, _obs("2020-01-05", data=True)) == [("data_drift", "2020-01-05")]  # a new one


def test_data_and_model_drift_are_separate_episodes() -> None:
    state = EpisodeState()
    assert _kinds(state, _obs("2020-01-01", data=True)) == [("data_drift", "2020-01-01")]
    assert _kinds(state, _obs("2020-01-02", data=True, model=True)) == [("model_drift", "2020-01-02")]
    step = observe(state, _obs("2020-01-03", data=True), "dev")
    assert step.alerts == [] and step.notes == ["2020-01-03: model performance back within tolerance"]
    assert (state.data_open, state.model_open) == (True, False)


def test_backfill_of_an_older_day_never_alerts_nor_changes_the_state() -> None:
    state = EpisodeState()
    observe(state, _obs("2020-01-05"), "dev")
    before = EpisodeState.from_json(state.to_json())
    step = observe(state, _obs("2020-01-01", data=True, model=True), "dev")
    assert step.alerts == [] and "backfill" in step.notes[0]
    assert state == before
    assert _kinds(state, _obs("2020-01-05", data=True)) == [("data_drift", "2020-01-05")]  # same day again


def test_alert_texts_name_the_day_the_columns_and_the_reports() -> None:
    data, model = observe(EpisodeState(), _obs("2020-01-02", data=True, model=True), "prod").alerts
    assert data.title == "[prod] Data drift in listing features on 2020-01-02"
    assert data.summary == "1 feature(s) drifted (50% of columns): room_type."
    assert (data.severity, data.report_url) == ("warning", "/r/2020-01-02/data_drift.html")
    assert data.details == {"drifted_columns": ["room_type"], "share_drifted": 0.5}
    assert model.title == "[prod] Model performance degraded on 2020-01-02"
    assert model.summary.startswith("Price model MAE 130.0 vs 96.0 out of sample")
    assert (model.severity, model.report_url) == ("critical", "/r/2020-01-02/model_drift.html")
    assert "band covers 74% of priced listings, market at 1.31x" in model.summary
    assert "(found by: mae, level)" in model.summary
    assert model.details == {
        "mae": 130.0,
        "reference_mae": 96.0,
        "reasons": ["mae", "level"],
        "band_coverage_80": 0.74,
        "market_level": 1.31,
    }
