"""ML fixtures: real gold rows (2017-03 + 2017-04) from the suite's gold builder, and
:func:`register` (a retrain registered the way ``ml/price_model`` does). The labelled rows and an
empty MLflow store (``labelled``, ``mlflow_store``) are the suite's (``airbnb_assets_tests/conftest.py``)."""

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.ml.promotion import Decision, decide
from airbnb_assets.ml.registry import Registration, register_retrain
from airbnb_assets.ml.train import TrainingResult, train
from airbnb_assets_tests.conftest import MONTHS


@pytest.fixture(scope="session")
def real_gold(snapshot_gold):  # type: ignore[no-untyped-def]
    """Gold rows of the 2017-03-02 and 2017-04-02 snapshots as a Spark DataFrame (cached upstream)."""
    return snapshot_gold.filter(F.col("snapshot_date").cast("string").isin(*MONTHS))


def register(
    client,
    name: str,
    rows: pd.DataFrame,
    result: TrainingResult | None = None,
    decision: Decision | None = None,
    refit: Callable[[], Any] | None = None,
) -> Registration:  # type: ignore[no-untyped-def]
    """Register a retrain the way ``ml/price_model`` does (a first model, unless told otherwise;
    ``refit``: the refit already started, :func:`~airbnb_assets.ml.train.background_fit`)."""
    result = result if result is not None else train(rows)
    decision = decision if decision is not None else decide(result.metrics["mae"], None, None, [])
    return register_retrain(
        client,
        name,
        rows,
        result,
        decision,
        evaluated_on=max(rows.snapshot_date),
        run_date="test",
        refit=refit,
    )
