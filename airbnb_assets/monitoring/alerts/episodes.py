"""Drift episodes: turn a sequence of daily drift results into alerts, once per episode.

An episode starts on the first day drift is seen and lasts while it persists: one alert at its
start, none on the following days, and a new one only after a day without drift. Data drift and
model drift are separate episodes. A result for a day
older than the newest one seen (a backfill) never raises an alert. The state is plain JSON so a
sensor can keep it in its cursor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from airbnb_assets.resources.notifier.alert import Alert


@dataclass(frozen=True)
class DriftObservation:
    """The headline of one day's drift report."""

    run_date: str
    data_drift: bool
    drifted_columns: list[str]
    share_drifted: float
    model_degraded: bool
    model_mae: float | None = None
    reference_mae: float | None = None
    report_url: str | None = None
    model_report_url: str | None = None
    #: What found the model degraded: ``mae``, ``coverage`` (of its 80 % band), ``level`` (market).
    model_reasons: tuple[str, ...] = ()
    band_coverage: float | None = None
    market_level: float | None = None


@dataclass
class EpisodeState:
    """Which episodes are open, and the newest day seen."""

    data_open: bool = False
    model_open: bool = False
    last_run_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form (for a sensor cursor)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EpisodeState:
        """Rebuild the state from :meth:`to_json` output (empty state for ``None``)."""
        return cls(**data) if data else cls()


@dataclass(frozen=True)
class Step:
    """What a new observation produced."""

    alerts: list[Alert]
    notes: list[str]


def observe(state: EpisodeState, obs: DriftObservation, env: str) -> Step:
    """Advance ``state`` with one day's result; return the alerts to send (mutates ``state``)."""
    if state.last_run_date is not None and obs.run_date < state.last_run_date:
        return Step([], [f"{obs.run_date}: older than {state.last_run_date} (backfill), no alert"])
    state.last_run_date = obs.run_date
    alerts, notes = [], []
    if obs.data_drift and not state.data_open:
        alerts.append(_data_alert(obs, env))
    elif not obs.data_drift and state.data_open:
        notes.append(f"{obs.run_date}: data drift cleared")
    state.data_open = obs.data_drift
    if obs.model_degraded and not state.model_open:
        alerts.append(_model_alert(obs, env))
    elif not obs.model_degraded and state.model_open:
        notes.append(f"{obs.run_date}: model performance back within tolerance")
    state.model_open = obs.model_degraded
    return Step(alerts, notes)


def _data_alert(obs: DriftObservation, env: str) -> Alert:
    columns = ", ".join(obs.drifted_columns) or "none"
    return Alert(
        kind="data_drift",
        env=env,
        title=f"[{env}] Data drift in listing features on {obs.run_date}",
        summary=(
            f"{len(obs.drifted_columns)} feature(s) drifted ({obs.share_drifted:.0%} of columns): {columns}."
        ),
        details={"drifted_columns": obs.drifted_columns, "share_drifted": obs.share_drifted},
        report_url=obs.report_url,
        severity="warning",
        run_date=obs.run_date,
    )


def _model_alert(obs: DriftObservation, env: str) -> Alert:
    return Alert(
        kind="model_drift",
        env=env,
        title=f"[{env}] Model performance degraded on {obs.run_date}",
        summary=(
            f"Price model MAE {_num(obs.model_mae)} vs {_num(obs.reference_mae)} out of sample, "
            f"its 80 % band covers {_share(obs.band_coverage)} of priced listings, market at "
            f"{_ratio(obs.market_level)} of the model's level "
            f"(found by: {', '.join(obs.model_reasons) or 'mae'}); "
            "retrain_sensor requests a retrain (the out-of-time gate decides promotion)."
        ),
        details={
            "mae": obs.model_mae,
            "reference_mae": obs.reference_mae,
            "reasons": list(obs.model_reasons),
            "band_coverage_80": obs.band_coverage,
            "market_level": obs.market_level,
        },
        report_url=obs.model_report_url,
        severity="critical",
        run_date=obs.run_date,
    )


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
