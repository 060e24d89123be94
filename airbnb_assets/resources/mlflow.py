"""The MLflow resource: where runs are tracked and models registered, for one environment.

DEV uses a local SQLite tracking store and artefact folder under the lakehouse root
(``<root>/<env>/_mlflow``); Databricks environments use ``databricks`` tracking and the Unity
Catalog registry (``catalog.schema.model``, aliases, no stages).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from mlflow import MlflowClient


class MlflowResource(dg.ConfigurableResource):
    """Tracking/registry URIs, experiment and registered model name."""

    tracking_uri: str
    registry_uri: str | None = None
    experiment_name: str = "airbnb_price"
    artifact_location: str | None = None
    model_name: str = "airbnb_price"

    def activate(self) -> MlflowClient:
        """Point the ``mlflow`` module at this store, make sure the experiment exists, return a client."""
        import mlflow

        if self.tracking_uri.startswith("sqlite:///"):
            os.makedirs(os.path.dirname(self.tracking_uri.removeprefix("sqlite:///")), exist_ok=True)
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri or self.tracking_uri)
        client = mlflow.MlflowClient()
        if client.get_experiment_by_name(self.experiment_name) is None:
            client.create_experiment(self.experiment_name, artifact_location=self.artifact_location)
        mlflow.set_experiment(self.experiment_name)
        return client
