"""Market context on real snapshot rows: leave-one-out, shrinkage, the fallback, the market study."""

import numpy as np
import pandas as pd
import pytest

from airbnb_assets.ml import market
from airbnb_assets.ml.backtest import folds, market_backtest

DAYS = ["2015-05-04", "2016-07-02", "2017-03-02", "2017-04-02", "2019-06-02", "2019-10-14"]


def test_loo_median_is_the_median_of_the_others() -> None:
    values = pd.Series([10.0, 20.0, 30.0, 40.0, np.nan, 7.0])
    groups = pd.Series(["a", "a", "a", "a", "a", "b"])
    median, n = market.loo_median(values, groups)
    assert list(median[:4]) == [30.0, 30.0, 20.0, 20.0]  # e.g. without 10: median(20, 30, 40)
    assert median[4] == 25.0 and n[4] == 4  # no price of its own: the group's median
    assert np.isnan(median[5]) and n[5] == 0  # alone in its group


def test_a_listings_own_price_never_enters_its_features(labelled: pd.DataFrame) -> None:
    day = labelled[labelled.snapshot_date.astype(str) == "2017-04-02"].reset_index(drop=True)
    before = market.market_context(day)
    changed = day.copy()
    sizes = day.groupby(["neighbourhood", "room_type"])["price"].transform("size")
    target = int(sizes[sizes == 3].index[0])  # in a group of 3: the other two's medians include it
    changed.loc[target, "price"] = 1_000_000.0  # the listing's own price jumps
    after = market.market_context(changed)
    columns = list(market.COLUMNS)
    pd.testing.assert_series_equal(before.loc[target, columns], after.loc[target, columns])
    same_group = (day.neighbourhood == day.neighbourhood[target]) & (day.room_type == day.room_type[target])
    others = same_group & (day.index != target)
    assert others.sum() == 2
    assert (after.loc[others, market.GROUP_REL] > before.loc[others, market.GROUP_REL]).all()
    assert set(before[market.SOURCE]) == {"snapshot"}


def test_small_groups_shrink_to_their_room_types_level(labelled: pd.DataFrame) -> None:
    day = labelled[labelled.snapshot_date.astype(str) == "2017-04-02"].reset_index(drop=True)
    context = market.market_context(day)
    small = context[context[market.GROUP_N] < 3]
    large = context[context[market.GROUP_N] > 200]
    assert not small.empty and not large.empty
    assert small[market.GROUP_REL].abs().max() < large[market.GROUP_REL].abs().max()


def test_a_day_without_prices_takes_the_training_context_and_says_so(labelled: pd.DataFrame) -> None:
    trained = labelled[labelled.snapshot_date.astype(str) == "2017-03-02"]
    fallback = market.MarketSnapshot.of(trained)
    day = labelled[labelled.snapshot_date.astype(str) == "2017-04-02"].assign(price=np.nan)
    context = market.market_context(day, fallback=fallback)
    assert set(context[market.SOURCE]) == {"training"} and context[market.LEVEL].notna().all()
    entire = day[day.room_type == "Entire home/apt"].index
    assert np.allclose(context.loc[entire, market.LEVEL], fallback.rooms["Entire home/apt"])
    with pytest.raises(ValueError, match="no priced rows"):
        market.market_context(day)


def test_folds_are_rolling_then_long_gap_then_inflation_each_calibrated_by_an_earlier_fold() -> None:
    found = folds(DAYS)
    assert [f.name for f in found] == [*(f"rolling {d}" for d in DAYS[1:]), "long gap", "inflation x1.3"]
    gap, inflation = found[-2], found[-1]
    assert gap.trained[-1] == "2017-04-02" and gap.evaluated == "2019-10-14"
    assert inflation.inflation == 1.3 and inflation.trained[-1] == "2019-06-02"
    names = [f.name for f in found]
    for fold in found:  # calibrated by a fold that ran before it, on a snapshot before the evaluated one
        assert fold.calibrated_by is None or names.index(fold.calibrated_by) < names.index(fold.name)
    assert found[0].calibrated_by is None


def test_market_study_on_two_snapshots_reports_bias_and_coverage(labelled: pd.DataFrame) -> None:
    table = market_backtest(labelled)
    assert table["variant"].tolist() == ["base", "level", "market"]
    assert set(table["fold"]) == {"rolling 2017-04-02"}
    for row in table.to_dict("records"):
        assert row["n_eval"] == (labelled.snapshot_date.astype(str) == "2017-04-02").sum()
        assert row["mae"] < row["day_median_mae"]
        assert abs(row["bias_pct"]) < 10 and 60 < row["coverage_80"] < 95
