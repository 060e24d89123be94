"""MLflow tracking and registry writes: log a retrain, register its model, set its tags and alias.

The policy lives in :mod:`airbnb_assets.ml.promotion`; finding and loading the version that serves a
day is :mod:`airbnb_assets.ml.serving`. One retrain is one MLflow run and one
registered version: the refit champion when the gate promoted it (alias ``champion``), else the
challenger that lost (alias ``challenger``). Tags on every version say what it was trained on
(``trained_through``, ``training_snapshots``), what it was judged on (``evaluated_on``), whether it
is a refit, and the gate's decision. Its run's ``val_*`` metrics are out of time (a model with the
same parameters trained on the snapshots before ``evaluated_on``, scored on ``evaluated_on``): the
reference that model drift holds the version to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudpickle
import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from airbnb_assets.ml import estimators, pipeline, text
from airbnb_assets.ml.calibration import HIGH_TAG, LOW_TAG
from airbnb_assets.ml.contract import CONTRACT
from airbnb_assets.ml.promotion import Decision
from airbnb_assets.ml.serving import CHALLENGER, CHAMPION
from airbnb_assets.ml.train import PARAMS, TrainingResult, features_frame, fit

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass
class Registration:
    """What happened to a newly trained model version."""

    version: str
    run_id: str
    model_uri: str
    promoted: bool
    decision: str
    champion_mae_same_data: float | None


def model_requirements() -> list[str]:
    """The model's own runtime requirements (it is pickled self-contained, without this package)."""
    import numpy
    import pandas
    import sklearn

    return [
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pandas.__version__}",
        f"numpy=={numpy.__version__}",
        f"cloudpickle=={cloudpickle.__version__}",
    ]


def log_and_register(
    client: MlflowClient,
    name: str,
    result: TrainingResult,
    decision: Decision,
    *,
    model: Any,
    trained_through: dt.date,
    training_snapshots: list[str],
    evaluated_on: dt.date,
    n_fit: int,
    run_date: str,
    params: dict[str, Any] | None = None,
) -> Registration:
    """Log the retrain (params, out-of-time metrics, model), register ``model``, apply ``decision``.

    ``model`` is the refit on every labelled row up to ``evaluated_on`` when promoted, else the
    challenger ``result.model``; ``result`` holds the out-of-time evaluation either way.
    """
    valid_x = features_frame(result.validation)
    refit = model is not result.model
    # Pickle the pipeline's helper functions by value: the model loads without airbnb_assets.
    for module in (pipeline, estimators, text):
        cloudpickle.register_pickle_by_value(module)
    with mlflow.start_run(run_name=f"price_model {run_date}") as run:
        mlflow.log_params(
            {
                **(params or PARAMS),
                "n_train": result.n_train,
                "n_validation": len(valid_x),
                "n_fit": n_fit,
                "validation": result.scheme,
                "trained_through": str(trained_through),
                "evaluated_on": str(evaluated_on),
                "refit": refit,
                "features": ",".join(c.name for c in CONTRACT),
                "run_date": run_date,
            }
        )
        mlflow.log_metrics({f"val_{k}": v for k, v in result.metrics.items()})
        mlflow.log_metrics({f"baseline_{k}": v for k, v in result.baseline_metrics.items()})
        mlflow.log_metrics(
            {"val_model_mae": result.model_mae, "val_log_p10": result.band[0], "val_log_p90": result.band[1]}
        )
        if decision.champion_mae is not None:
            mlflow.log_metric("champion_val_mae_same_data", decision.champion_mae)
        info = mlflow.sklearn.log_model(
            sk_model=model,
            name="model",
            signature=infer_signature(valid_x, model.predict(valid_x.head(50))),
            input_example=valid_x.head(5),
            serialization_format="cloudpickle",
            pip_requirements=model_requirements(),
            registered_model_name=name,
        )
        version = str(info.registered_model_version)
        tags = {
            "trained_through": str(trained_through),
            "training_snapshots": ",".join(training_snapshots),
            "evaluated_on": str(evaluated_on),
            "evaluated_model_snapshots": ",".join(result.train_snapshots),
            "refit": str(refit).lower(),
            "reference": f"val_* metrics: {result.scheme}",
            "val_mae": f"{result.metrics['mae']:.4f}",
            LOW_TAG: f"{result.band[0]:.6f}",
            HIGH_TAG: f"{result.band[1]:.6f}",
            "promotion": "promoted" if decision.promote else "refused",
            "decision_reason": decision.reason,
            "missing_features": ",".join(decision.missing_features),
        }
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
        if decision.promote:
            client.set_registered_model_alias(name, CHAMPION, version)
            try:
                client.delete_registered_model_alias(name, CHALLENGER)
            except MlflowException:
                pass
        else:
            client.set_registered_model_alias(name, CHALLENGER, version)
        message = f"v{version} {decision.message}"
        mlflow.set_tags({"promotion": message, "promoted": str(decision.promote)})
    return Registration(
        version,
        run.info.run_id,
        f"models:/{name}/{version}",
        decision.promote,
        message,
        decision.champion_mae,
    )


def register_retrain(
    client: MlflowClient,
    name: str,
    rows: Any,
    result: TrainingResult,
    decision: Decision,
    *,
    evaluated_on: dt.date,
    run_date: str,
    refit: Callable[[], Any] | None = None,
) -> Registration:
    """Register one retrain: a promoted challenger is refit on every row of ``rows`` first.

    ``rows`` are the labelled rows up to ``evaluated_on``; ``result`` is the challenger trained on
    those before it. A refused challenger is registered as trained. ``refit`` returns that refit
    when it was started already (:func:`~airbnb_assets.ml.train.background_fit`); it is called
    only for a promoted challenger.
    """
    if decision.promote:
        model = refit() if refit is not None else fit(rows)
        snapshots, n_fit = sorted({str(d) for d in rows.snapshot_date}), len(rows)
    else:
        model, snapshots, n_fit = result.model, result.train_snapshots, result.n_train
    return log_and_register(
        client,
        name,
        result,
        decision,
        model=model,
        trained_through=dt.date.fromisoformat(snapshots[-1]),
        training_snapshots=snapshots,
        evaluated_on=evaluated_on,
        n_fit=n_fit,
        run_date=run_date,
    )


def recover_interrupted(client: MlflowClient, name: str) -> list[str]:
    """Finish or undo what a killed retrain left half-registered; one line per version or run.

    A registration ends its MLflow run, and retrains never overlap (one writer at a time), so a
    version whose run is still ``RUNNING`` was being registered when its process died. With its
    decision tag (``promotion``) the registration is completed: the alias the decision names is
    set and the run ends ``FINISHED``. Without it the version is deleted and the run ends
    ``FAILED``: the snapshot counts as not judged, and the retrain registers it again. A
    ``RUNNING`` run of the experiment with no version (killed while logging) ends ``FAILED``.
    """
    lines: list[str] = []
    versions = list(client.search_model_versions(f"name = '{name}'"))
    for version in sorted(versions, key=lambda v: int(v.version)):
        if not version.run_id or client.get_run(version.run_id).info.status != "RUNNING":
            continue
        decision = version.tags.get("promotion")
        if decision in ("promoted", "refused"):
            alias = CHAMPION if decision == "promoted" else CHALLENGER
            client.set_registered_model_alias(name, alias, version.version)
            client.set_terminated(version.run_id, "FINISHED")
            lines.append(
                f"completed the registration of v{version.version} ({decision}, alias {alias}): "
                f"its run {version.run_id} was killed after the decision"
            )
        else:
            client.delete_model_version(name, version.version)
            client.set_terminated(version.run_id, "FAILED")
            lines.append(
                f"rolled back v{version.version}: its registration was killed before the decision "
                f"(run {version.run_id}); this retrain judges its snapshot again"
            )
    registered = {v.run_id for v in versions}
    for run in mlflow.search_runs(filter_string="attributes.status = 'RUNNING'", output_format="list"):
        if run.info.run_id not in registered:
            client.set_terminated(run.info.run_id, "FAILED")
            lines.append(f"marked run {run.info.run_id} failed: it was killed before registering a version")
    return lines
