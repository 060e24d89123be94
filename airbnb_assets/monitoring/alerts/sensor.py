"""The drift alert sensor: reacts to each new drift report and alerts once per episode.

It reads every ``monitoring/drift_report`` materialization since its cursor (in order), feeds the
headline numbers to :func:`airbnb_assets.monitoring.alerts.episodes.observe` and sends the resulting
alerts through the notifier resource. It launches no run: :mod:`airbnb_assets.ml.retrain_sensor`
requests the retrain of every new labelled snapshot (the rows model drift is measured on), naming
model drift as its reason. Its cursor holds the event
position, the episode state and any alert whose delivery failed (retried on the next tick, and
recorded as failed in the notifier's JSONL log), so alerts are neither repeated nor lost.
"""

import json
from dataclasses import asdict
from typing import Any

import dagster as dg

from airbnb_assets.monitoring.alerts.episodes import DriftObservation, EpisodeState, observe
from airbnb_assets.platform.metadata import metadata_value
from airbnb_assets.platform.tables import DRIFT_REPORT_KEY
from airbnb_assets.resources.monitoring import MonitoringResource
from airbnb_assets.resources.notifier.resource import (
    Alert,
    AlertDeliveryError,
    NotifierConfigError,
    NotifierResource,
)


def observation(partition: str, metadata: dict[str, Any]) -> DriftObservation:
    """The drift headline stored in a drift report's materialization metadata."""

    def value(key: str, default: Any = None) -> Any:
        return metadata_value(metadata, key, default)

    columns = value("drifted_columns", "")
    return DriftObservation(
        run_date=partition,
        data_drift=bool(value("dataset_drift", False)),
        drifted_columns=[c for c in str(columns).split(", ") if c and c != "none"],
        share_drifted=float(value("share_drifted", 0.0)),
        model_degraded=bool(value("model_degraded", False)),
        model_mae=value("model_mae"),
        reference_mae=value("reference_mae"),
        report_url=value("data_drift_report"),
        model_report_url=value("model_drift_report"),
        model_reasons=tuple(
            r for r in str(value("model_drift_reasons", "")).split(", ") if r and r != "none"
        ),
        band_coverage=value("band_coverage_80"),
        market_level=value("market_level"),
    )


#: Seconds between two evaluations by the daemon (Dagster's default is 30). A tick is one cheap
#: event-log query, and alerts leave sooner. ``airbnb replay`` waits out this interval before each
#: day's tick (the daemon skips a sensor evaluated sooner): at 30 s it padded every replayed day of
#: 22-28 s to 30 s, so the demo could not take less than six times 30 s.
MINIMUM_INTERVAL_SECONDS = 10


@dg.sensor(
    name="drift_alert_sensor",
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once per drift episode (data drift, model drift) through the notifier.",
)
def drift_alert_sensor(
    context: dg.SensorEvaluationContext, notifier: NotifierResource, monitoring: MonitoringResource
) -> dg.SensorResult:
    """Process new drift reports in order and send the alerts of new drift episodes."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    state = EpisodeState.from_json(cursor.get("state"))
    position = cursor.get("after")
    outbox = [Alert(**a) for a in cursor.get("pending", [])]  # undelivered on an earlier tick
    while True:
        page = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=DRIFT_REPORT_KEY), limit=100, cursor=position, ascending=True
        )
        for record in page.records:
            materialization = record.asset_materialization
            if materialization is None or materialization.partition is None:
                continue
            if not metadata_value(materialization.metadata, "evaluated", True):
                context.log.info(
                    f"{materialization.partition}: no drift report (no data), episodes unchanged"
                )
                continue
            obs = observation(materialization.partition, dict(materialization.metadata))
            step = observe(state, obs, monitoring.env)
            outbox.extend(step.alerts)
            for note in step.notes:
                context.log.info(note)
        position = page.cursor
        if not page.has_more:
            break
    pending = []
    for alert in outbox:
        try:
            notifier.send(alert)
            context.log.info(f"alert sent: {alert.title}")
        except (AlertDeliveryError, NotifierConfigError) as exc:  # kept and retried on the next tick
            context.log.error(f"alert not delivered, will retry: {alert.title}: {exc}")
            pending.append(asdict(alert))
    new_cursor = {"after": position, "state": state.to_json(), "pending": pending}
    sent = len(outbox) - len(pending)
    summary = f"{sent} alert(s) sent" + (f", {len(pending)} to retry" if pending else "")
    return dg.SensorResult(cursor=json.dumps(new_cursor), skip_reason=summary)  # the tick's note in the UI
