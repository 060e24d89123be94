"""Which registered version serves a day: only one trained on earlier snapshots; the champion
alias first (a manual rollback is honoured), else the newest promoted version that qualifies."""

import datetime as dt

import mlflow
import pytest
from sklearn.dummy import DummyRegressor

from airbnb_assets.ml.serving import (
    CHALLENGER,
    CHAMPION,
    champion_version,
    last_evaluated,
    load_model,
    serving_version,
    training_snapshots,
)
from airbnb_assets.resources.mlflow import MlflowResource

MARCH, APRIL, MAY = dt.date(2017, 3, 2), dt.date(2017, 4, 2), dt.date(2017, 5, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> MlflowResource:
    """One local MLflow store for the module (creating one costs seconds); each test has its own model."""
    path = tmp_path_factory.mktemp("mlflow")
    return MlflowResource(
        tracking_uri=f"sqlite:///{path}/mlflow.db", artifact_location=str(path / "artifacts")
    )


@pytest.fixture
def registry(store: MlflowResource, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The store's client and a model name of this test's own (no version of another test)."""
    return store.activate(), request.node.name


def _register(client, name: str, price: float, alias: str | None = None, **tags: str) -> str:  # type: ignore[no-untyped-def]
    """Register a constant-price model as a new version with the registry's tags (no training)."""
    model = DummyRegressor(strategy="constant", constant=price).fit([[0.0]], [price])
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            sk_model=model, name="model", registered_model_name=name, pip_requirements=["scikit-learn"]
        )
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return version


def _promoted(through: dt.date, snapshots: str, evaluated: dt.date | None = None) -> dict[str, str]:
    return {
        "promotion": "promoted",
        "trained_through": str(through),
        "training_snapshots": snapshots,
        "evaluated_on": str(evaluated or through),
    }


def _served(client, name: str, before: dt.date) -> str | None:  # type: ignore[no-untyped-def]
    version = serving_version(client, name, before=before)
    return None if version is None else str(version.version)


def test_empty_registry_serves_nothing(registry) -> None:  # type: ignore[no-untyped-def]
    client, name = registry
    assert champion_version(client, name) is None
    assert serving_version(client, name, before=MAY) is None
    assert last_evaluated(client, name) is None


def test_never_serves_the_snapshot_it_was_trained_on(registry) -> None:  # type: ignore[no-untyped-def]
    client, name = registry
    v1 = _register(client, name, 100.0, CHAMPION, **_promoted(MARCH, "2015-05-04,2017-03-02"))
    assert str(champion_version(client, name).version) == v1
    assert _served(client, name, MARCH) is None  # trained through March: may not judge March
    assert _served(client, name, APRIL) == v1
    assert training_snapshots(champion_version(client, name)) == ["2015-05-04", "2017-03-02"]


def test_backfill_is_scored_by_the_model_of_that_time_and_refused_versions_never_serve(registry) -> None:  # type: ignore[no-untyped-def]
    client, name = registry
    v1 = _register(client, name, 100.0, CHAMPION, **_promoted(MARCH, "2017-03-02"))
    refused = {"promotion": "refused", "trained_through": str(MARCH), "evaluated_on": str(APRIL)}
    v2 = _register(client, name, 200.0, CHALLENGER, **refused)
    v3 = _register(client, name, 300.0, CHAMPION, **_promoted(APRIL, "2017-03-02,2017-04-02"))
    assert _served(client, name, MAY) == v3  # the champion qualifies
    assert _served(client, name, APRIL) == v1  # it does not: the newest promoted one that does
    assert v2 not in {_served(client, name, d) for d in (MARCH, APRIL, MAY)}
    assert last_evaluated(client, name) == APRIL  # refused versions count as evaluated

    # Two promoted versions trained through the same day: the newer one serves.
    v4 = _register(client, name, 400.0, None, **_promoted(MARCH, "2017-03-02", evaluated=MARCH))
    assert _served(client, name, APRIL) == v4

    # A manual rollback of the alias is honoured for the days the rolled-back version did not see.
    client.set_registered_model_alias(name, CHAMPION, v1)
    assert _served(client, name, MAY) == v1


def test_version_without_tags_never_serves(registry) -> None:  # type: ignore[no-untyped-def]
    client, name = registry
    _register(client, name, 100.0, CHAMPION)  # registered by hand: no trained_through
    assert _served(client, name, MAY) is None
    assert training_snapshots(champion_version(client, name)) == []
    assert last_evaluated(client, name) is None


def test_load_model_returns_the_registered_estimator(registry) -> None:  # type: ignore[no-untyped-def]
    client, name = registry
    _register(client, name, 100.0)
    v2 = _register(client, name, 250.0)
    assert load_model(name, v2).predict([[1.0], [2.0]]).tolist() == pytest.approx([250.0, 250.0])
