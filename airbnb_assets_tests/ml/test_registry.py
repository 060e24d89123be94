"""MLflow registry: first model is champion; a good challenger is promoted, a bad one refused."""

import datetime as dt
import subprocess
import sys

import pandas as pd

from airbnb_assets.ml.registry import (
    CHALLENGER,
    CHAMPION,
    latest_trained_through,
    log_and_register,
    passes_gate,
)
from airbnb_assets.ml.train import PARAMS, train
from airbnb_assets.resources.mlflow import MlflowResource


def test_champion_challenger_promotion_and_refusal(
    labelled: pd.DataFrame, mlflow_store: MlflowResource
) -> None:
    client = mlflow_store.activate()
    name, day = mlflow_store.model_name, dt.date(2017, 4, 2)
    good = train(labelled)
    first = log_and_register(client, name, good, day, "2017-04-02")
    assert first.promoted and first.version == "1"
    assert client.get_model_version_by_alias(name, CHAMPION).version == 1

    second = log_and_register(client, name, train(labelled), day, "2017-04-03")  # same quality
    assert second.promoted and "promoted" in second.decision
    assert client.get_model_version_by_alias(name, CHAMPION).version == 2
    assert abs(second.champion_mae_same_data - good.metrics["mae"]) < 1e-6

    weak = train(labelled, {**PARAMS, "max_iter": 2})
    third = log_and_register(client, name, weak, day, "2017-04-04")
    assert not third.promoted and "NOT promoted" in third.decision
    assert client.get_model_version_by_alias(name, CHAMPION).version == 2
    assert client.get_model_version_by_alias(name, CHALLENGER).version == 3
    assert client.get_model_version(name, "3").tags["promotion"] == "refused"
    run = client.get_run(third.run_id)
    assert run.data.tags["promoted"] == "False"
    assert {"val_mae", "val_rmse", "val_r2", "val_mape", "baseline_mae"} <= set(run.data.metrics)
    assert latest_trained_through(client, name) == day


def test_gate_tolerance() -> None:
    assert passes_gate(101.0, 100.0, tolerance=0.02)
    assert not passes_gate(103.0, 100.0, tolerance=0.02)


def test_registered_model_loads_without_this_package(
    labelled: pd.DataFrame, mlflow_store: MlflowResource
) -> None:
    client = mlflow_store.activate()
    reg = log_and_register(
        client, mlflow_store.model_name, train(labelled.head(3000)), dt.date(2017, 4, 2), "t"
    )
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
