"""ML fixtures: real labelled gold rows (2017-03 + 2017-04) built with the pipeline's transforms."""

import pandas as pd
import pytest

from airbnb_assets.gold.features import build_features
from airbnb_assets.ingest.bronze import read_landed_file
from airbnb_assets.ingest.files import probe_file
from airbnb_assets.ml.promotion import Decision, decide
from airbnb_assets.ml.registry import Registration, register_retrain
from airbnb_assets.ml.train import TrainingResult, train
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets.silver.parse import parse_bronze
from airbnb_assets.silver.quality import evaluate, rank_duplicates, split
from airbnb_assets_tests.conftest import SNAPSHOT_FILES


@pytest.fixture(scope="session")
def real_gold(spark):  # type: ignore[no-untyped-def]
    """Gold rows of the 2017-03-02 and 2017-04-02 snapshots as a Spark DataFrame (cached)."""
    frames = [read_landed_file(spark, probe_file(str(p))) for p in SNAPSHOT_FILES if "2017" in p.name]
    bronze = frames[0].unionByName(frames[1], allowMissingColumns=True)
    silver = split(evaluate(rank_duplicates(parse_bronze(bronze)))).valid
    return build_features(silver).cache()


@pytest.fixture(scope="session")
def labelled(real_gold) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The same rows as pandas, for training."""
    return real_gold.filter("price IS NOT NULL").toPandas()


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
