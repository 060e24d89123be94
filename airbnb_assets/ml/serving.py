"""Which registered version serves a day, and loading it (MLflow registry reads).

A version *serves* snapshot S when it was trained only on snapshots before S
(:func:`serving_version`): no model judges rows it was trained on. Tags written by
:mod:`airbnb_assets.ml.registry` (``trained_through``, ``training_snapshots``, ``evaluated_on``,
``promotion``) are what these functions read.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: Alias of the promoted version (what serves).
CHAMPION = "champion"
#: Alias of the newest version the gate refused.
CHALLENGER = "challenger"


def champion_version(client: MlflowClient, name: str) -> Any | None:
    """The model version with alias ``champion``, or ``None``."""
    from mlflow.exceptions import MlflowException  # MLflow loads in the steps that use it only

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def _versions(client: MlflowClient, name: str) -> list[Any]:
    from mlflow.exceptions import MlflowException

    try:
        return list(client.search_model_versions(f"name = '{name}'"))
    except MlflowException:
        return []


def _date_tag(version: Any, tag: str) -> dt.date | None:
    value = version.tags.get(tag)
    return dt.date.fromisoformat(value) if value else None


def serving_version(client: MlflowClient, name: str, before: dt.date) -> Any | None:
    """The version that serves rows of snapshot ``before``: trained only on earlier snapshots.

    The ``champion`` alias when it qualifies (so a manual rollback is honoured), else the newest
    version ever promoted that qualifies (a backfill of a past day uses the model of that time),
    else ``None``: no model may judge rows it was trained on.
    """
    current = champion_version(client, name)
    through = _date_tag(current, "trained_through") if current is not None else None
    if current is not None and through is not None and through < before:
        return current
    promoted = [
        (d, int(v.version), v)
        for v in _versions(client, name)
        if v.tags.get("promotion") == "promoted" and (d := _date_tag(v, "trained_through")) and d < before
    ]
    return max(promoted, key=lambda t: (t[0], t[1]))[2] if promoted else None


def training_snapshots(version: Any) -> list[str]:
    """Snapshot dates a registered version was trained on (its drift reference)."""
    return [d for d in version.tags.get("training_snapshots", "").split(",") if d]


def held_snapshots(client: MlflowClient, name: str) -> list[str]:
    """Snapshots a retrain refused because their labels jumped: left out of every later training."""
    return sorted(
        {
            d
            for v in _versions(client, name)
            if v.tags.get("decision_reason") == "labels" and (d := v.tags.get("evaluated_on"))
        }
    )


def own_mae(version: Any) -> float | None:
    """A version's validation MAE when it was trained (its ``val_mae`` tag), if recorded."""
    value = version.tags.get("val_mae")
    return float(value) if value else None


def last_evaluated(client: MlflowClient, name: str) -> dt.date | None:
    """The newest snapshot a retrain was evaluated on and decided (``None``: never retrained).

    A version without its decision tag (``promotion``) was registered by a retrain killed before
    the decision: its snapshot is not judged yet (:func:`~airbnb_assets.ml.registry.recover_interrupted`).
    """
    judged = [v for v in _versions(client, name) if v.tags.get("promotion")]
    dates = [d for v in judged if (d := _date_tag(v, "evaluated_on"))]
    return max(dates) if dates else None


def interval_band(version: Any) -> tuple[float, float] | None:
    """A version's out-of-time interval band (log quantiles), ``None`` for a version without one."""
    from airbnb_assets.ml.calibration import HIGH_TAG, LOW_TAG

    low, high = version.tags.get(LOW_TAG), version.tags.get(HIGH_TAG)
    return (float(low), float(high)) if low and high else None


def load_model(name: str, version: str) -> Any:
    """Load a registered version as its scikit-learn estimator."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


class RegistryMissing(RuntimeError):
    """The lakehouse holds days scored by registered versions, but the registry has none of them."""


def check_registry(client: MlflowClient, name: str, scored_rows: int, tracking_uri: str) -> None:
    """Refuse to go on with an empty registry where versions must exist.

    ``scored_rows`` is what ``gold/price_predictions`` holds: rows scored by registered versions.
    A registry without any version of ``name`` then was lost (a deleted ``mlflow.db``, another
    tracking URI), and going on would silently start a new v1 and forget the serving champion.
    Raises :class:`RegistryMissing` with the fix.
    """
    if scored_rows > 0 and not _versions(client, name):
        raise RegistryMissing(
            f"gold/price_predictions holds {scored_rows} rows scored by registered versions of "
            f"{name!r}, but the registry at {tracking_uri} has none: it was lost or moved. Restore "
            "it (the tracking database and its artifact store, from the same backup as the "
            "lakehouse) or point the environment's MLflow tracking URI at it; nothing was scored "
            "or trained meanwhile."
        )
