"""The replay behind ``make demo``: run each day as the deployment would, sensors included.

For each pending snapshot, :func:`replay` lands the file, runs the daily job for its date on the
Dagster instance of ``DAGSTER_HOME`` (:func:`run_day`), then the retrain ``retrain_sensor``
requests, if any (:func:`run_requested_retrain`: the sensor is evaluated, and its request run
with the run key and tags the daemon would give it, so ``make dev`` never repeats it), and
finally evaluates the sensors through the daemon's own tick code (:func:`tick_sensor`), so the
demo's alerts are sent the way ``make dev`` would send them and the drift sensor's cursor is the
one ``make dev`` continues from. It prints one line per day (``verbose`` also shows Dagster's
logs) and returns the days.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from airbnb_assets.dagster_internals import evaluate_sensor, reconstructable_job

#: The code location name of ``workspace.yaml``: the sensor state ``make dev`` continues from.
LOCATION_NAME = "airbnb_assets"
SENSOR_NAME = "drift_alert_sensor"


@dataclass
class Day:
    """What one replayed day did."""

    date: str
    success: bool
    run_id: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    #: The ``retrain_job`` run the retrain sensor requested after the day (``None``: none).
    retrain_run_id: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds the drift sensor's tick waited for its minimum interval (not in ``seconds``).
    sensor_wait: float = 0.0

    def line(self) -> str:
        """The day in one line: status, time, what was scored and judged, alerts sent."""
        if not self.success:
            run = self.retrain_run_id or self.run_id
            return f"{self.date}  FAILED after {self.seconds:.0f}s (run {run}; `-v` shows the logs)"
        f = self.facts
        parts = [f"{f.get('listings', 0):>6,} listings"]
        parts.append(f"scored by v{f['served_by']}" if f.get("served_by") else "no model yet (first day)")
        if f.get("drift"):
            parts.append(f"drift: {f['drift']}")
        if f.get("model"):
            parts.append(f"model: {f['model']}")
        kinds = ", ".join(a.get("kind", "?") for a in self.alerts)
        parts.append(f"{len(self.alerts)} alert(s) ({kinds})" if self.alerts else "no alert")
        if self.sensor_wait >= 0.5:  # a day shorter than the sensor's interval: the replay slept
            parts.append(f"then {self.sensor_wait:.0f}s waiting for {SENSOR_NAME}'s minimum interval")
        return f"{self.date}  ok {self.seconds:>4.0f}s  " + " · ".join(parts)


def instance() -> dg.DagsterInstance:
    """The ``DAGSTER_HOME`` instance (the demo's), or an ephemeral one when it is not set."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def claim(inst: dg.DagsterInstance, root: str) -> list[str]:
    """Before a run from the command line: refuse if another run writes ``root``, close dead runs.

    Raises :class:`~airbnb_assets.platform.locks.LakehouseBusy` while another process holds the
    writer lock. Otherwise no run can be alive, so a ``daily_job`` or ``retrain_job`` run still
    marked started (its process was killed) is marked failed; returns their ids.
    """
    from airbnb_assets.platform.locks import WriterLock

    lock = WriterLock(root)
    lock.acquire({"run_id": "airbnb (checking)"})  # raises LakehouseBusy, naming the holder
    lock.release()
    alive = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
    stale = [
        record
        for job in ("daily_job", "retrain_job")
        for record in inst.get_run_records(dg.RunsFilter(job_name=job, statuses=alive))
    ]
    for record in stale:
        inst.report_run_failed(record.dagster_run, message="its process is gone (found by the next run)")
    return [r.dagster_run.run_id for r in stale]


def run_bootstrap_job(inst: dg.DagsterInstance, landing_location: str | None) -> tuple[bool, list[str]]:
    """Run ``bootstrap_job`` (on Databricks: on a cluster); its success and what it logged."""
    config = {"ops": {"bootstrap_catalog": {"config": {"landing_location": landing_location}}}}
    quiet_logs = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    result = dg.execute_job(
        reconstructable_job("bootstrap_job"), instance=inst, run_config={**config, **quiet_logs}
    )
    logs = [e.user_message for e in inst.all_logs(result.run_id) if e.step_key and not e.is_dagster_event]
    return bool(result.success), [m for m in logs if m.startswith(("created", "found", "deferred"))]


def start_spark_early() -> None:
    """Start the local Spark session in the background, and import scikit-learn meanwhile (DEV only).

    A run's first step (bronze) needs Spark at once, so without this the JVM's start (about 6 s)
    follows the imports, Dagster's definitions and the run's start; with it, they overlap. The
    JVM's start still outlasts them (bronze waited about 0.8 s for its session), and the
    predictions step imported scikit-learn mid-run (about 0.8 s, when it loads the model): that
    import now fills the wait (``benchmarks/RESULTS.md``, figure 1). On Databricks the steps and
    their imports run on clusters, so nothing is started or imported. Called by ``airbnb run``
    and ``airbnb replay`` before they run a job.
    """
    from airbnb_assets.environments import current_settings, spark_resource

    spark = spark_resource(current_settings())
    if spark.master is None:
        return
    spark.start_in_background()
    # On this thread, as quiet() imports MLflow; PySpark was imported before the Spark thread began.
    import airbnb_assets.ml.train  # noqa: F401 - the model's code and scikit-learn


def run_day(date: str, inst: dg.DagsterInstance, *, verbose: bool = False) -> Day:
    """Run the daily job for one date on ``inst``; collect the facts of the day from its events.

    The job is loaded by reference (``airbnb_assets.definitions:location_definitions``), as the
    daemon would: a step launcher needs that reference to rebuild the step on a cluster.
    """
    from airbnb_assets.jobs import WRITER_TAG

    level = "INFO" if verbose else "CRITICAL"
    start = time.monotonic()
    result = dg.execute_job(
        reconstructable_job("daily_job"),
        instance=inst,
        run_config={"loggers": {"console": {"config": {"log_level": level}}}},
        tags={"dagster/partition": date, **WRITER_TAG},
        raise_on_error=False,
    )
    day = Day(date, bool(result.success), result.run_id, time.monotonic() - start)
    if result.success:
        day.facts = _facts(result)
    return day


def run_requested_retrain(day: Day, inst: dg.DagsterInstance, *, verbose: bool = False) -> Day:
    """Evaluate ``retrain_sensor`` after ``day`` and run the retrain it requests, as the daemon would.

    The run carries the sensor's run key and name: a request whose key already has a run is not
    run again (the daemon's rule), and ``make dev``'s daemon will not repeat this one. Adds the
    retrain's outcome and time to ``day``.
    """
    from airbnb_assets.environments import build_resources, current_settings
    from airbnb_assets.jobs import WRITER_TAG
    from airbnb_assets.ml.retrain_sensor import SENSOR_NAME, retrain_sensor

    start = time.monotonic()
    mlflow = build_resources(current_settings())["mlflow"]
    with dg.build_sensor_context(instance=inst, resources={"mlflow": mlflow}) as context:
        evaluation = retrain_sensor(context)
    assert isinstance(evaluation, dg.SensorResult)
    requests = evaluation.run_requests or []
    level = "INFO" if verbose else "CRITICAL"
    for request in requests:
        keys = {"dagster/sensor_name": SENSOR_NAME, "dagster/run_key": str(request.run_key)}
        if inst.get_runs(dg.RunsFilter(tags=keys), limit=1):
            continue
        result = dg.execute_job(
            reconstructable_job("retrain_job"),
            instance=inst,
            run_config={"loggers": {"console": {"config": {"log_level": level}}}},
            tags={**WRITER_TAG, **request.tags, **keys, "dagster/partition": str(request.partition_key)},
            raise_on_error=False,
        )
        day.retrain_run_id, day.success = result.run_id, day.success and bool(result.success)
        if result.success:
            day.facts.update({k: v for k, v in _facts(result).items() if k == "model"})  # its verdict
    day.seconds += time.monotonic() - start
    return day


def _facts(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        meta[materialization.asset_key.to_user_string()] = materialization.metadata

    def value(asset: str, key: str) -> Any:
        item = meta.get(asset, {}).get(key)
        return getattr(item, "value", item)

    facts: dict[str, Any] = {
        "listings": value("silver/listings", "rows_written") or 0,
        "served_by": value("gold/price_predictions", "model_version"),
    }
    if value("monitoring/drift_report", "evaluated"):
        data = value("monitoring/drift_report", "dataset_drift")
        model = value("monitoring/drift_report", "model_degraded")
        facts["drift"] = (
            f"data ({value('monitoring/drift_report', 'share_drifted'):.0%} of columns)" if data else "none"
        )
        if model:
            facts["drift"] += ", model degraded"
    if value("ml/price_model", "retrained"):  # a retrain_job run
        promoted = value("ml/price_model", "promoted")
        facts["model"] = f"v{value('ml/price_model', 'model_version')} " + (
            "promoted" if promoted else "refused"
        )
    return facts


def tick_sensor(
    inst: dg.DagsterInstance, alert_log: str, *, verbose: bool = False
) -> tuple[list[dict[str, Any]], float]:
    """Evaluate ``drift_alert_sensor`` once with the sensor daemon's code.

    Returns the alerts it logged and the seconds it waited first. The daemon skips a sensor whose
    minimum interval has not elapsed since its last tick; the replay waits for it instead, so
    every day is judged by one tick (a replayed day usually takes longer than the sensor's 10 s,
    and the day's line says when it did not). The sensor's own console lines are shown with
    ``verbose``; otherwise only its errors are (the tick is in the instance).
    """
    import json

    before = _line_count(alert_log)
    waited = evaluate_sensor(inst, SENSOR_NAME, LOCATION_NAME, verbose=verbose)
    lines = Path(alert_log).read_text(encoding="utf-8").splitlines() if Path(alert_log).exists() else []
    return [json.loads(line) for line in lines[before:]], waited


def _line_count(path: str) -> int:
    p = Path(path)
    return len(p.read_text(encoding="utf-8").splitlines()) if p.exists() else 0


def quiet() -> None:
    """Silence the libraries' chatter at its source (log levels, progress bars, warnings)."""
    import warnings

    import mlflow.pyfunc
    import mlflow.sklearn  # noqa: F401 - imported for its side effect (see below)
    from mlflow.utils.logging_utils import disable_logging

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow's own stream (its INFO/WARNING lines, "Created version" notices). Importing its
    # flavours re-enables the stream, so they are imported first.
    disable_logging()
    for name in ("py4j", "alembic", "evidently", "urllib3", "git"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("dagster").setLevel(logging.WARNING)  # sensor tick notes; failures still show
    warnings.filterwarnings("ignore")


def replay(
    todo: list[tuple[dt.date, Path]],
    land: Callable[[Path], object],
    alert_log: str,
    *,
    verbose: bool = False,
    echo: Callable[[str], None] = print,
) -> list[Day]:
    """Land and run each ``(date, file)`` in order, ticking the sensor after each day; stop on a failure."""
    from tqdm import tqdm

    inst = instance()
    days: list[Day] = []
    bar = tqdm(total=len(todo), unit="day", leave=False, disable=verbose or not sys.stderr.isatty())
    try:
        for date, path in todo:
            bar.set_description(f"{date} {path.name}")
            land(path)
            day = run_day(str(date), inst, verbose=verbose)
            if day.success:
                day = run_requested_retrain(day, inst, verbose=verbose)
            if day.success:
                day.alerts, day.sensor_wait = tick_sensor(inst, alert_log, verbose=verbose)
            days.append(day)
            bar.write(day.line()) if not bar.disable else echo(day.line())
            bar.update(1)
            if not day.success:
                break
    finally:
        bar.close()
    return days
