"""What the day is compared with: the champion's stored reference sample and the previous day.

The data drift reference of a model version is a fixed-seed sample (at most ``max_rows`` rows) of
the drift features of the rows it was fit on. ``ml/price_model`` stores it beside the model when it
registers the version (:func:`airbnb_assets.ml.reference.store_reference`, from the training rows it
already holds in memory), as ``drift/reference/<model>/v<version>.parquet`` in the lakehouse's
artefact store; the drift report reads that file and never scans the training history. A version
registered without one (before this file existed) is sampled from its training snapshots in gold
once, the first time it is judged (:func:`champion_reference`), and stored the same way.

The day's snapshot and serving version, the previous day of the prediction drift (the latest
earlier day with scored rows) and how many rows each day scored (so their samples need no count)
come from the prediction statistics (``report = "predictions"`` rows of
``monitoring/drift_metrics``), not from a scan of the predictions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from pyspark.sql import functions as F

from airbnb_assets.ml.reference import reference_path
from airbnb_assets.platform.sampling import sample_to_pandas
from airbnb_assets.platform.snapshots import as_date
from airbnb_assets.platform.tables import DRIFT_METRICS, GOLD, PREDICTION_STATS_REPORT

if TYPE_CHECKING:
    import pandas as pd

    from airbnb_assets.platform.lakehouse import LakehouseResource


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


class ScoredDay(NamedTuple):
    """What the prediction statistics record of a scored day."""

    snapshot: dt.date  #: the snapshot scored
    version: str  #: the model version that scored it
    rows: int  #: the rows scored: the day's rows in ``gold/price_predictions``


def scored_days(lakehouse: LakehouseResource) -> dict[dt.date, ScoredDay]:
    """Each day with scored predictions and what its prediction statistics record of it.

    Read from the rows the predictions asset writes with the day's predictions (``report =
    "predictions"`` rows of ``monitoring/drift_metrics``; a day whose ``rows_scored`` is 0 is left
    out). The table is small (rows per day and column), so it is read as pandas: without a Spark
    job where the lakehouse is on this machine's disk, with one Spark read elsewhere.
    """
    if not lakehouse.exists(DRIFT_METRICS):
        return {}
    metrics = lakehouse.to_pandas(
        DRIFT_METRICS, ["run_date", "snapshot_date", "report", "column", "score", "model_version"]
    )
    scored = metrics.loc[
        (metrics["report"] == PREDICTION_STATS_REPORT)
        & (metrics["column"] == "rows_scored")
        & (metrics["score"] > 0)
    ]
    columns = (scored["run_date"], scored["snapshot_date"], scored["model_version"], scored["score"])
    return {
        as_date(run): ScoredDay(as_date(snapshot), str(version), int(rows))
        for run, snapshot, version, rows in zip(*columns, strict=True)
    }


def previous_day(scored: Mapping[dt.date, object], day: dt.date) -> dt.date | None:
    """The latest day of ``scored`` (:func:`scored_days`) before ``day``."""
    return max((d for d in scored if d < day), default=None)
