"""The retrain sensor: requests ``retrain_job`` when gold holds a labelled snapshot no retrain has judged.

Training is its own job, as production ML teams (and Databricks' MLOps Stacks) split training
from batch inference: ``daily_job`` ingests, scores, judges and charts a day; ``retrain_job``
(challenger, out-of-time gate, refit, registration) runs for that day afterwards, so what it
promotes serves from the next day.

The sensor keeps no cursor. Each tick compares the newest labelled snapshot that gold's recent
runs wrote (their ``labelled_snapshots`` metadata) with the newest snapshot any retrain was
evaluated on and decided (the registry's ``evaluated_on`` tags, refused challengers included), and requests
one run keyed by that snapshot: the daemon launches one run per snapshot however often it
ticks, and a snapshot already judged, promoted or refused, requests nothing. A retrain that
failed or was killed is requested again under a new key (``snapshot-<date>-attempt-2``), up to
:data:`MAX_ATTEMPTS` in all; the model asset first completes or rolls back what a killed one left
half-registered (:func:`~airbnb_assets.ml.registry.recover_interrupted`). Model drift on the
day names itself in the request's reason; drift on a snapshot already trained on requests
nothing (there is nothing new to learn from; the drift sensor alerts). A retrain that finishes
late cannot replace a champion trained on newer data: the model asset retrains only when its
day's newest labelled snapshot is newer than every evaluated one.
"""

import datetime as dt

import dagster as dg

from airbnb_assets.gold.assets import LABELLED_SNAPSHOTS
from airbnb_assets.jobs import retrain_job
from airbnb_assets.ml.serving import last_evaluated
from airbnb_assets.platform.metadata import metadata_value
from airbnb_assets.platform.tables import DRIFT_REPORT_KEY, GOLD
from airbnb_assets.resources.mlflow import MlflowResource

SENSOR_NAME = "retrain_sensor"
#: How many of gold's latest materializations are searched for labelled snapshots.
LOOKBACK = 50
#: Tags of a requested retrain: the snapshot it trains through, and why it was requested.
TRAINS_THROUGH_TAG = "airbnb/trains_through"
REASON_TAG = "airbnb/retrain_reason"
#: Retrains of one snapshot that may fail (or be killed) before the sensor stops requesting it.
MAX_ATTEMPTS = 3
ENDED_BADLY = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def newest_labelled(instance: dg.DagsterInstance) -> tuple[dt.date, str] | None:
    """The newest labelled snapshot in gold's recent materializations, and the day of its run."""
    page = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=GOLD.key), limit=LOOKBACK, ascending=False
    )
    found: tuple[dt.date, str] | None = None
    for record in page.records:
        materialization = record.asset_materialization
        written = (
            str(metadata_value(materialization.metadata, LABELLED_SNAPSHOTS, "")) if materialization else ""
        )
        dates = [dt.date.fromisoformat(d) for d in written.split(", ") if d and d != "none"]
        if not dates or (found is not None and max(dates) <= found[0]):
            continue  # the run is looked up only for a newer snapshot
        run = instance.get_run_by_id(record.run_id)
        if run is not None and (day := run.tags.get("dagster/partition")):
            found = (max(dates), day)
    return found


def model_drift_on(instance: dg.DagsterInstance, day: str) -> bool:
    """Whether the drift report of ``day`` found the serving model degraded."""
    page = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=DRIFT_REPORT_KEY, asset_partitions=[day]), limit=1, ascending=False
    )
    return any(
        r.asset_materialization and metadata_value(r.asset_materialization.metadata, "model_degraded")
        for r in page.records
    )


@dg.sensor(
    name=SENSOR_NAME,
    job=retrain_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests retrain_job once per labelled snapshot in gold that no retrain has judged.",
)
def retrain_sensor(context: dg.SensorEvaluationContext, mlflow: MlflowResource) -> dg.SensorResult:
    """One ``retrain_job`` run for the newest labelled snapshot no retrain was evaluated on."""
    found = newest_labelled(context.instance)
    if found is None:
        return dg.SensorResult(skip_reason="gold holds no labelled snapshot yet")
    snapshot, day = found
    evaluated = last_evaluated(mlflow.activate(), mlflow.model_name)
    if evaluated is not None and snapshot <= evaluated:
        return dg.SensorResult(
            skip_reason=f"the newest labelled snapshot, {snapshot}, was judged already (through {evaluated})"
        )
    tags = {TRAINS_THROUGH_TAG: str(snapshot)}
    failed = context.instance.get_runs(
        dg.RunsFilter(job_name=retrain_job.name, tags=tags, statuses=ENDED_BADLY)
    )
    if len(failed) >= MAX_ATTEMPTS:
        return dg.SensorResult(
            skip_reason=f"{len(failed)} retrains of snapshot {snapshot} failed: launch retrain_job for "
            f"{day} by hand once the cause is fixed"
        )
    reason = "new labelled snapshot" + (", model drift" if model_drift_on(context.instance, day) else "")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                # A failed (or killed) attempt is retried under a new key, at most MAX_ATTEMPTS in all.
                run_key=f"snapshot-{snapshot}" + (f"-attempt-{len(failed) + 1}" if failed else ""),
                partition_key=day,
                tags={TRAINS_THROUGH_TAG: str(snapshot), REASON_TAG: reason},
            )
        ]
    )
