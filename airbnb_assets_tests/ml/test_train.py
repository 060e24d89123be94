"""Training on real rows: out-of-time evaluation, the baseline, the rolling-origin backtest."""

import pandas as pd
import pytest

from airbnb_assets.ml.train import (
    GroupMedianBaseline,
    backtest,
    features_frame,
    fit,
    regression_metrics,
    split_validation,
    train,
)


def test_model_beats_group_median_baseline(labelled: pd.DataFrame) -> None:
    result = train(labelled)
    assert result.scheme.startswith("out of time") and result.scheme.endswith("evaluated on 2017-04-02")
    assert result.train_snapshots == ["2017-03-02"]  # never the evaluated snapshot
    assert len(result.validation) == (labelled.snapshot_date.astype(str) == "2017-04-02").sum()
    assert result.metrics["mae"] < result.baseline_metrics["mae"]
    assert result.metrics["r2"] > result.baseline_metrics["r2"]


def test_single_snapshot_holds_out_a_fixed_share(labelled: pd.DataFrame) -> None:
    one = labelled[labelled.snapshot_date.astype(str) == "2017-03-02"]
    train_rows, valid_rows, scheme = split_validation(one)
    assert scheme.startswith("single snapshot")
    assert len(train_rows) + len(valid_rows) == len(one)
    assert 0.15 < len(valid_rows) / len(one) < 0.25
    again = split_validation(one)[1]
    assert list(again.index) == list(valid_rows.index)  # fixed seed


def test_baseline_falls_back_to_room_type_then_overall() -> None:
    train_rows = pd.DataFrame(
        {"neighbourhood": ["A", "A", "B"], "room_type": ["x", "x", "y"], "price": [100.0, 200.0, 50.0]}
    )
    base = GroupMedianBaseline.fit(train_rows)
    frame = pd.DataFrame({"neighbourhood": ["A", "C", "C"], "room_type": ["x", "y", "z"]})
    assert list(base.predict(frame)) == [150.0, 50.0, 100.0]
    assert regression_metrics(pd.Series([100.0, 200.0]), [100.0, 100.0])["mae"] == 50.0


def test_backtest_trains_before_and_evaluates_on_each_later_snapshot(labelled: pd.DataFrame) -> None:
    table = backtest(labelled)
    assert table["evaluated_on"].tolist() == ["2017-04-02"]
    row = table.iloc[0]
    assert row["trained_on"] == "2017-03-02 .. 2017-03-02"
    assert row["n_train"] == (labelled.snapshot_date.astype(str) == "2017-03-02").sum()
    assert row["n_eval"] == (labelled.snapshot_date.astype(str) == "2017-04-02").sum()
    assert row["model_mae"] < row["baseline_mae"] and row["model_medae"] < row["baseline_medae"]


def test_refit_is_reproducible(labelled: pd.DataFrame) -> None:
    rows = labelled.head(2000)
    shuffled = rows.sample(frac=1.0, random_state=7)
    x = features_frame(rows)
    a, b = fit(rows).predict(x), fit(shuffled).predict(x)
    assert (a == b).all()


def test_a_first_snapshot_without_titles_trains_and_ignores_what_it_never_saw(
    snapshot_gold_rows: pd.DataFrame,
) -> None:
    # 2019-06-02 has no title and four numeric columns fewer: every text feature is empty, which
    # broke scikit-learn 1.9's binning when it was the first labelled snapshot (a retrain's crash).
    rows = snapshot_gold_rows[
        (snapshot_gold_rows.snapshot_date.astype(str) == "2019-06-02") & snapshot_gold_rows.price.notna()
    ]
    x = features_frame(rows)
    assert x["name"].isna().all() and x["minimum_nights"].isna().all()
    result = train(rows)
    assert result.scheme.startswith("single snapshot")
    assert result.metrics["mae"] < result.baseline_metrics["mae"]
    titled = x.assign(name="Luxury 3 bedroom flat, 2 baths", minimum_nights=30.0)
    assert (result.model.predict(titled) == result.model.predict(x)).all()  # never split on them


def test_categories_are_split_natively_and_an_unseen_one_is_scored_as_missing(labelled: pd.DataFrame) -> None:
    rows = labelled.head(3000)
    x = features_frame(rows)
    model = fit(rows)
    booster = model.regressor_.named_steps["gbm"]
    names = list(booster.feature_names_in_)
    native = [n for n, cat in zip(names, booster.booster_.is_categorical_, strict=True) if cat]
    assert native == ["categorical__neighbourhood", "categorical__room_type"]  # two codes, not 41 columns
    unseen = model.predict(x.assign(room_type="Hotel room", neighbourhood="Atlantis"))
    # Every unseen category is the same missing code: scored, and only by the other features.
    assert (unseen == model.predict(x.assign(room_type="Cave", neighbourhood="Bayview Heights"))).all()
    assert (unseen > 1.0).all() and not (unseen == model.predict(x)).all()
    onehot = fit(rows, {"categorical_encoding": "onehot"}).regressor_.named_steps["gbm"]
    assert sum(n.startswith("categorical__") for n in onehot.feature_names_in_) > 20
    with pytest.raises(ValueError, match="categorical_encoding"):
        fit(rows, {"categorical_encoding": "target"})


def test_fits_side_by_side_share_one_blas_thread_and_restore_it_after(labelled: pd.DataFrame) -> None:
    from threadpoolctl import threadpool_info

    from airbnb_assets.ml.train import background_fit

    def threads(api: str) -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == api}

    before = threads("blas")
    rows = labelled[labelled.snapshot_date.astype(str) == "2017-03-02"].head(500)
    with background_fit(rows) as refit:
        assert threads("blas") == {1}  # process-wide while the two fits run
        model = refit()
    assert threads("blas") == before
    assert len(model.predict(features_frame(rows))) == 500
