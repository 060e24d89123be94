"""MLflow registry and the gate: first model is champion, a good challenger is promoted and refit,
a worse or contract-breaking one is refused; the serving version never saw the rows it scores."""

import datetime as dt
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

from airbnb_assets.ml.promotion import decide
from airbnb_assets.ml.serving import CHALLENGER, CHAMPION, last_evaluated, serving_version
from airbnb_assets.ml.train import PARAMS, background_fit, features_frame, fit, train
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets_tests.ml.conftest import register

MARCH, APRIL = dt.date(2017, 3, 2), dt.date(2017, 4, 2)


def test_gate_then_refit_and_refusals(
    labelled: pd.DataFrame, mlflow_store: MlflowResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = mlflow_store.activate()
    name = mlflow_store.model_name
    march = labelled[labelled.snapshot_date == MARCH]
    asked: list[int] = []

    def refit_asked(refit):  # type: ignore[no-untyped-def]
        return lambda: asked.append(1) or refit()

    with background_fit(march) as refit:  # as ml/price_model does: the refit beside the challenger
        first = train(march)  # single snapshot: fixed-seed holdout
        reg1 = register(client, name, march, first, refit=refit_asked(refit))
    assert reg1.promoted and reg1.version == "1" and asked == [1]  # the background refit registered
    v1 = client.get_model_version(name, "1")
    assert v1.tags["trained_through"] == "2017-03-02" and v1.tags["refit"] == "true"
    assert serving_version(client, name, before=MARCH) is None  # never judges its own snapshot
    assert str(serving_version(client, name, before=APRIL).version) == "1"

    # Day 2017-04-02: challenger trained on < April, compared with v1 on April's rows, then refit.
    good = train(labelled)
    assert good.train_snapshots == ["2017-03-02"] and set(good.validation.snapshot_date) == {APRIL}
    v1_model = mlflow.sklearn.load_model(f"models:/{name}/1")
    v1_predicted = v1_model.predict(features_frame(good.validation))
    # The refit fitted in the background thread is the model a plain fit of the same rows gives.
    assert np.array_equal(v1_predicted, fit(march).predict(features_frame(good.validation)))
    champion_mae = float(abs(v1_predicted - good.validation.price).mean())
    decision = decide(good.metrics["mae"], champion_mae, "1", [])
    reg2 = register(client, name, labelled, good, decision)
    assert reg2.promoted and "promoted" in reg2.decision
    v2 = client.get_model_version_by_alias(name, CHAMPION)
    assert v2.version == 2 and v2.tags["trained_through"] == "2017-04-02"
    assert v2.tags["training_snapshots"] == "2017-03-02,2017-04-02" and v2.tags["refit"] == "true"
    run = client.get_run(v2.run_id)
    assert run.data.params["n_fit"] == str(len(labelled)) and run.data.params["n_train"] == str(len(march))
    assert {"val_mae", "val_medae", "val_rmse", "val_r2", "baseline_mae"} <= set(run.data.metrics)
    assert last_evaluated(client, name) == APRIL
    # A backfill of April is scored by v1 (trained before April), not by the champion v2.
    assert str(serving_version(client, name, before=APRIL).version) == "1"
    assert str(serving_version(client, name, before=dt.date(2017, 5, 1)).version) == "2"

    # A worse challenger is refused and stays challenger; it is registered as trained (not refit).
    weak = train(labelled, {**PARAMS, "gbm_max_iter": 2})
    refused = decide(weak.metrics["mae"], champion_mae, "2", [])
    reg3 = register(
        client, name, labelled, weak, refused, refit=lambda: pytest.fail("refit of a refused one")
    )
    assert not reg3.promoted and "NOT promoted" in reg3.decision
    assert client.get_model_version_by_alias(name, CHAMPION).version == 2
    v3 = client.get_model_version_by_alias(name, CHALLENGER)
    assert v3.version == 3 and v3.tags["promotion"] == "refused" and v3.tags["refit"] == "false"
    assert v3.tags["trained_through"] == "2017-03-02" and v3.tags["decision_reason"] == "worse"

    # A snapshot without a required feature: refused whatever the MAE, with the feature's name.
    broken = decide(good.metrics["mae"], champion_mae, "2", ["room_type"])
    reg4 = register(client, name, labelled, good, broken)
    assert not reg4.promoted and "room_type" in reg4.decision
    v4 = client.get_model_version(name, reg4.version)
    assert v4.tags["decision_reason"] == "contract" and v4.tags["missing_features"] == "room_type"
    assert client.get_model_version_by_alias(name, CHAMPION).version == 2

    # A manual rollback of the alias is honoured for days the rolled-back version did not see.
    client.set_registered_model_alias(name, CHAMPION, "1")
    assert str(serving_version(client, name, before=dt.date(2017, 5, 1)).version) == "1"

    # The dashboard's model table: every version, or only the newest past its cap.
    from airbnb_assets.monitoring.dashboard import data as dashboard_data

    table = dashboard_data.model_versions(client, name)
    assert list(table.model_version) == ["1", "2", "3", "4"] and list(table.promoted) == [
        True,
        True,
        False,
        False,
    ]
    monkeypatch.setattr(dashboard_data, "MAX_MODEL_VERSIONS", 2)
    assert list(dashboard_data.model_versions(client, name).model_version) == ["3", "4"]


def test_registered_model_loads_without_this_package(
    labelled: pd.DataFrame, mlflow_store: MlflowResource
) -> None:
    client = mlflow_store.activate()
    rows = labelled.head(3000)
    result = train(rows)
    reg = register(client, mlflow_store.model_name, rows, result)
    code = (
        "import sys; sys.modules['airbnb_assets'] = None\n"
        "import mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({mlflow_store.tracking_uri!r})\n"
        f"model = mlflow.pyfunc.load_model({reg.model_uri!r})\n"
        "schema = model.metadata.get_input_schema()\n"
        "row = {c.name: ['Mission' if 'string' in str(c.type) else 2.0] for c in schema.inputs}\n"
        "print(float(model.predict(pd.DataFrame(row))[0]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip().splitlines()[-1]) > 0
