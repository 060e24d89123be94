"""ML fixtures: real labelled gold rows (2017-03 + 2017-04) from the suite's gold builder, an
empty MLflow store, and :func:`register` (a retrain registered the way ``ml/price_model`` does)."""

import pandas as pd
import pytest
from pyspark.sql import functions as F

from airbnb_assets.ml.promotion import Decision, decide
from airbnb_assets.ml.registry import Registration, register_retrain
from airbnb_assets.ml.train import TrainingResult, train
from airbnb_assets.resources.mlflow import MlflowResource

#: The two consecutive monthly snapshots the ML tests train and score on.
MONTHS = ("2017-03-02", "2017-04-02")


@pytest.fixture(scope="session")
def real_gold(snapshot_gold):  # type: ignore[no-untyped-def]
    """Gold rows of the 2017-03-02 and 2017-04-02 snapshots as a Spark DataFrame (cached upstream)."""
    return snapshot_gold.filter(F.col("snapshot_date").cast("string").isin(*MONTHS))


@pytest.fixture(scope="session")
def labelled(snapshot_gold_rows: pd.DataFrame) -> pd.DataFrame:
    """The same rows with a price, as pandas, for training."""
    months = snapshot_gold_rows[snapshot_gold_rows.snapshot_date.astype(str).isin(MONTHS)]
    return months[months.price.notna()].reset_index(drop=True)


@pytest.fixture
def mlflow_store(tmp_path) -> MlflowResource:  # type: ignore[no-untyped-def]
    """An empty local MLflow tracking store and registry."""
    store = tmp_path / "mlflow"
    return MlflowResource(
        tracking_uri=f"sqlite:///{store}/mlflow.db", artifact_location=str(store / "artifacts")
    )


def register(
    client,
    name: str,
    rows: pd.DataFrame,
    result: TrainingResult | None = None,
    decision: Decision | None = None,
) -> Registration:  # type: ignore[no-untyped-def]
    """Register a retrain the way ``ml/price_model`` does (a first model, unless told otherwise)."""
    result = result if result is not None else train(rows)
    decision = decision if decision is not None else decide(result.metrics["mae"], None, None, [])
    return register_retrain(
        client, name, rows, result, decision, evaluated_on=max(rows.snapshot_date), run_date="test"
    )
