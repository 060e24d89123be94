"""MLflow tracking and registry: log a trained model, register it, and gate its promotion.

The first registered version gets the alias ``champion``. A later version gets ``challenger`` and
becomes champion only if its validation MAE, on the same validation rows, is not worse than the
champion's by more than :data:`PROMOTION_TOLERANCE`. A refused promotion leaves the champion in
place and is recorded on the version (tags) and returned to the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudpickle
import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from airbnb_assets.gold.features import TARGET
from airbnb_assets.ml import train as train_module
from airbnb_assets.ml.contract import CONTRACT
from airbnb_assets.ml.train import PARAMS, TrainingResult, features_frame

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION = "champion"
CHALLENGER = "challenger"
#: A challenger may be at most this much worse (relative validation MAE) and still be promoted.
PROMOTION_TOLERANCE = 0.02


@dataclass
class Registration:
    """What happened to a newly trained model version."""

    version: str
    run_id: str
    model_uri: str
    promoted: bool
    decision: str
    champion_mae_same_data: float | None


def champion_version(client: MlflowClient, name: str) -> Any | None:
    """The model version with alias ``champion``, or ``None``."""
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def training_snapshots(version: Any) -> list[str]:
    """Snapshot dates a registered version was trained on (its drift reference)."""
    return [d for d in version.tags.get("training_snapshots", "").split(",") if d]


def latest_trained_through(client: MlflowClient, name: str) -> dt.date | None:
    """The newest snapshot date any registered version was trained through (``None``: no model)."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    dates = [
        dt.date.fromisoformat(v.tags["trained_through"]) for v in versions if "trained_through" in v.tags
    ]
    return max(dates) if dates else None


def passes_gate(candidate_mae: float, champion_mae: float, tolerance: float = PROMOTION_TOLERANCE) -> bool:
    """Whether a challenger's MAE is within ``tolerance`` of the champion's (or better)."""
    return candidate_mae <= champion_mae * (1.0 + tolerance)


def model_requirements() -> list[str]:
    """The model's own runtime requirements (it is pickled self-contained, without this package)."""
    import cloudpickle
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
    trained_through: dt.date,
    run_date: str,
    tolerance: float = PROMOTION_TOLERANCE,
) -> Registration:
    """Log params, metrics, signature and model to MLflow, register it, then apply the gate."""
    valid_x = features_frame(result.validation)
    # Pickle the pipeline's helper functions by value: the model loads without airbnb_assets.
    cloudpickle.register_pickle_by_value(train_module)
    with mlflow.start_run(run_name=f"price_model {run_date}") as run:
        mlflow.log_params(
            {
                **PARAMS,
                "n_train": result.n_train,
                "n_validation": len(valid_x),
                "validation": result.scheme,
                "trained_through": str(trained_through),
                "features": ",".join(c.name for c in CONTRACT),
                "run_date": run_date,
            }
        )
        mlflow.log_metrics({f"val_{k}": v for k, v in result.metrics.items()})
        mlflow.log_metrics({f"baseline_{k}": v for k, v in result.baseline_metrics.items()})
        info = mlflow.sklearn.log_model(
            sk_model=result.model,
            name="model",
            signature=infer_signature(valid_x, result.model.predict(valid_x.head(50))),
            input_example=valid_x.head(5),
            serialization_format="cloudpickle",
            pip_requirements=model_requirements(),
            registered_model_name=name,
        )
        version = str(info.registered_model_version)
        client.set_model_version_tag(name, version, "trained_through", str(trained_through))
        client.set_model_version_tag(name, version, "training_snapshots", ",".join(result.train_snapshots))
        client.set_model_version_tag(name, version, "val_mae", f"{result.metrics['mae']:.4f}")
        registration = _gate(client, name, version, result, valid_x, tolerance)
        mlflow.set_tags({"promotion": registration.decision, "promoted": str(registration.promoted)})
        if registration.champion_mae_same_data is not None:
            mlflow.log_metric("champion_val_mae_same_data", registration.champion_mae_same_data)
    registration.run_id = run.info.run_id
    registration.model_uri = f"models:/{name}/{version}"
    return registration


def _gate(
    client: MlflowClient, name: str, version: str, result: TrainingResult, valid_x: Any, tolerance: float
) -> Registration:
    current = champion_version(client, name)
    mae = result.metrics["mae"]
    if current is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        return Registration(version, "", "", True, f"v{version} is the first model: champion", None)
    champion_model = mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
    champion_mae = float(abs(champion_model.predict(valid_x) - result.validation[TARGET].to_numpy()).mean())
    client.set_registered_model_alias(name, CHALLENGER, version)
    if passes_gate(mae, champion_mae, tolerance):
        client.set_registered_model_alias(name, CHAMPION, version)
        client.delete_registered_model_alias(name, CHALLENGER)
        decision = (
            f"v{version} promoted to champion: validation MAE {mae:.2f} vs champion "
            f"v{current.version} {champion_mae:.2f} on the same rows"
        )
        client.set_model_version_tag(name, version, "promotion", "promoted")
        return Registration(version, "", "", True, decision, champion_mae)
    decision = (
        f"v{version} NOT promoted (stays challenger): validation MAE {mae:.2f} is worse than "
        f"champion v{current.version} {champion_mae:.2f} by more than {tolerance:.0%}"
    )
    client.set_model_version_tag(name, version, "promotion", "refused")
    return Registration(version, "", "", False, decision, champion_mae)
