"""Dashboard asset: the offline HTML page rebuilt each day from the lakehouse and the registry."""

import os

import dagster as dg

from airbnb_assets.monitoring.dashboard import data as dd
from airbnb_assets.monitoring.dashboard.page import DashboardData, write_dashboard
from airbnb_assets.platform.declare import asset_spec, spark_asset
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import (
    DASHBOARD_KEY,
    DATA_QUALITY,
    DRIFT_REPORT_KEY,
    MODEL_KEY,
    PREDICTIONS,
)
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.resources.monitoring import MonitoringResource


@spark_asset(
    asset_spec(
        DASHBOARD_KEY,
        "monitoring",
        "Self-contained offline HTML dashboard, rebuilt daily: prices, drift, data quality, models.",
        kinds={"plotly", "html"},
        deps=[DRIFT_REPORT_KEY, PREDICTIONS.key, MODEL_KEY, DATA_QUALITY.key],
    )
)
def dashboard(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    mlflow: MlflowResource,
    monitoring: MonitoringResource,
) -> dg.MaterializeResult:
    """Rebuild the dashboard page from the lakehouse tables and the model registry."""
    client = mlflow.activate()
    scored, metrics, quality = dd.read_inputs(lakehouse)
    data = DashboardData(env=monitoring.env, run_date=context.partition_key)
    if scored:
        day = context.partition_key
        snapshots = dd.scored_snapshots(metrics, day)
        data.price_by_group = dd.day_price_by_group(lakehouse, day, snapshots, monitoring.max_rows)
    if metrics is not None:
        data.predictions = dd.predictions_over_time(metrics)
        data.drift, data.drifted_features = dd.drift_over_time(metrics)
    if quality is not None:
        data.data_quality = dd.quality_over_time(quality)
    data.model_versions = dd.model_versions(client, mlflow.model_name)
    path = write_dashboard(data, lakehouse.artifacts, "dashboard/index.html")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(path),
            **({"url": dg.MetadataValue.url(url)} if (url := lakehouse.artifacts.url(path)) else {}),
            "days_shown": len(data.predictions),
            "size_kb": round(os.path.getsize(path) / 1024, 1),
        }
    )
