"""The retrain sensor on a real Dagster instance and a real MLflow registry.

Gold's and the drift report's materializations are recorded by runs of stand-ins with the same
keys and the metadata the real assets write (``gold/test_assets.py`` checks that gold writes
``labelled_snapshots``); the registry holds models trained on the real 2017 snapshots.
"""

import dagster as dg
import pandas as pd
import pytest
from dagster._core.utils import make_new_run_id

from airbnb_assets.gold.assets import LABELLED_SNAPSHOTS
from airbnb_assets.ml.promotion import decide
from airbnb_assets.ml.retrain_sensor import MAX_ATTEMPTS, REASON_TAG, TRAINS_THROUGH_TAG, retrain_sensor
from airbnb_assets.ml.train import train
from airbnb_assets.partitions import DAILY
from airbnb_assets.platform.tables import DRIFT_REPORT_KEY, GOLD
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets_tests.ml.conftest import register


def _gold_run(instance: dg.DagsterInstance, day: str, labelled: str) -> None:
    """A daily run of ``day`` whose gold step wrote the snapshots ``labelled`` (``"none"``: none)."""

    @dg.asset(key=GOLD.key)
    def gold() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={LABELLED_SNAPSHOTS: labelled})

    assert dg.materialize([gold], instance=instance, tags={"dagster/partition": day}).success


def _drift_report(instance: dg.DagsterInstance, day: str, *, model_degraded: bool) -> None:
    @dg.asset(key=DRIFT_REPORT_KEY, partitions_def=DAILY)
    def drift_report() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"evaluated": True, "model_degraded": model_degraded})

    assert dg.materialize([drift_report], instance=instance, partition_key=day).success


def _tick(instance: dg.DagsterInstance, mlflow: MlflowResource) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, resources={"mlflow": mlflow}) as context:
        result = retrain_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


@pytest.fixture
def instance():  # type: ignore[no-untyped-def]
    with dg.instance_for_test() as inst:
        yield inst


def test_a_new_labelled_snapshot_requests_one_retrain_keyed_by_it(instance, mlflow_store) -> None:  # type: ignore[no-untyped-def]
    assert not _tick(instance, mlflow_store).run_requests  # no gold yet
    _gold_run(instance, "2017-03-03", "2017-03-02")
    (request,) = _tick(instance, mlflow_store).run_requests or []
    assert request.run_key == "snapshot-2017-03-02" and request.partition_key == "2017-03-03"
    assert request.tags[TRAINS_THROUGH_TAG] == "2017-03-02"
    assert request.tags[REASON_TAG] == "new labelled snapshot"
    # A later day whose gold wrote nothing labelled still points at the newest labelled snapshot:
    # the same key, so the daemon runs it once however often the sensor ticks.
    _gold_run(instance, "2017-03-04", "none")
    (again,) = _tick(instance, mlflow_store).run_requests or []
    assert (again.run_key, again.partition_key) == ("snapshot-2017-03-02", "2017-03-03")


def test_a_judged_snapshot_requests_nothing_even_when_refused(  # type: ignore[no-untyped-def]
    instance, mlflow_store, labelled: pd.DataFrame
) -> None:
    client = mlflow_store.activate()
    # A challenger evaluated on 2017-04-02 and refused by the contract gate: judged all the same.
    result = train(labelled)
    refused = decide(result.metrics["mae"], None, None, ["minimum_nights"])
    assert not refused.promote
    register(client, mlflow_store.model_name, labelled, result, refused)
    _gold_run(instance, "2017-04-02", "2017-03-02, 2017-04-02")
    skipped = _tick(instance, mlflow_store)
    assert not skipped.run_requests
    assert "2017-04-02, was judged already" in str(skipped.skip_reason)
    _gold_run(instance, "2017-04-03", "none")  # a day without a new labelled snapshot
    assert not _tick(instance, mlflow_store).run_requests


def test_model_drift_on_a_new_snapshot_requests_one_retrain_and_says_why(  # type: ignore[no-untyped-def]
    instance, mlflow_store, labelled: pd.DataFrame
) -> None:
    register(mlflow_store.activate(), mlflow_store.model_name, labelled)  # judged through 2017-04-02
    _gold_run(instance, "2017-05-02", "2017-05-02")
    _drift_report(instance, "2017-05-02", model_degraded=True)
    (request,) = _tick(instance, mlflow_store).run_requests or []
    assert request.run_key == "snapshot-2017-05-02"
    assert request.tags[REASON_TAG] == "new labelled snapshot, model drift"


def test_a_failed_retrain_is_requested_again_under_a_new_key_then_given_up(instance, mlflow_store) -> None:  # type: ignore[no-untyped-def]
    _gold_run(instance, "2017-03-03", "2017-03-02")
    keys = []
    for _ in range(MAX_ATTEMPTS):
        (request,) = _tick(instance, mlflow_store).run_requests or []
        keys.append(request.run_key)
        failed = dg.DagsterRun(job_name="retrain_job", run_id=make_new_run_id(), tags=request.tags)
        instance.add_run(failed.with_status(dg.DagsterRunStatus.FAILURE))  # killed, marked failed
    assert keys == ["snapshot-2017-03-02", "snapshot-2017-03-02-attempt-2", "snapshot-2017-03-02-attempt-3"]
    given_up = _tick(instance, mlflow_store)
    assert not given_up.run_requests
    assert "3 retrains of snapshot 2017-03-02 failed" in str(given_up.skip_reason)
