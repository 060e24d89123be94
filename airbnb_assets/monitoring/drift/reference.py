"""What the day is compared with: the champion's stored reference sample and the previous day.

The data drift reference of a champion is a fixed-seed sample (at most ``max_rows`` rows) of the
contract features of its training snapshots in gold. It is sampled once per registered version,
the first time that version is judged, and stored as ``drift/reference/<model>/v<version>.parquet``
in the lakehouse's artefact store; later days read the file instead of scanning the training
history again. The previous day of the prediction drift is the latest earlier day with scored
rows in the prediction statistics (``report = "predictions"`` rows of ``monitoring/drift_metrics``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from airbnb_assets.platform.sampling import sample_to_pandas
from airbnb_assets.platform.tables import DRIFT_METRICS, GOLD, PREDICTION_STATS_REPORT

if TYPE_CHECKING:
    import pandas as pd

    from airbnb_assets.platform.lakehouse import LakehouseResource


def reference_path(model_name: str, version: str) -> str:
    """Artefact path of a version's reference sample."""
    return f"drift/reference/{model_name}/v{version}.parquet"


def champion_reference(
    lakehouse: LakehouseResource,
    model_name: str,
    version: str,
    snapshots: list[str],
    features: list[str],
    max_rows: int,
    seed: int,
) -> pd.DataFrame:
    """The version's reference sample: read from the artefact store, or sampled from gold and stored."""
    store, relative = lakehouse.artifacts, reference_path(model_name, version)
    if store.exists(relative):
        return store.read_parquet(relative)
    gold = lakehouse.read(GOLD)
    reference = sample_to_pandas(
        gold.filter(F.col("snapshot_date").isin(snapshots)).select(*features), max_rows, seed
    )
    store.write_parquet(relative, reference)
    return reference


def previous_day(lakehouse: LakehouseResource, day: dt.date) -> dt.date | None:
    """The latest day before ``day`` with scored predictions, from the prediction statistics."""
    metrics = lakehouse.read_or_none(DRIFT_METRICS)
    if metrics is None:
        return None
    value = (
        metrics.filter(
            (F.col("run_date") < F.lit(day))
            & (F.col("report") == PREDICTION_STATS_REPORT)
            & (F.col("column") == "rows_scored")
            & (F.col("score") > 0)
        )
        .agg(F.max("run_date"))
        .collect()[0][0]
    )
    return value if isinstance(value, dt.date) else None
