"""The promotion gate (pure policy): the contract, jumped labels and MAE jumps first, then the
out-of-time MAE on the same rows with a tolerance."""

import numpy as np
import pytest

from airbnb_assets.ml.promotion import PROMOTION_TOLERANCE, decide, label_shift, passes_gate


def test_gate_tolerance() -> None:
    assert passes_gate(101.0, 100.0, tolerance=0.02)
    assert not passes_gate(103.0, 100.0, tolerance=0.02)
    assert decide(90.0, 100.0, "1", ["minimum_nights", "room_type"]).reason == "contract"
    assert decide(90.0, None, None, []).reason == "first"


def test_default_tolerance_is_the_documented_two_percent() -> None:
    assert PROMOTION_TOLERANCE == 0.02
    assert passes_gate(102.0, 100.0) and not passes_gate(102.1, 100.0)


def test_first_model_is_promoted_without_a_comparison() -> None:
    decision = decide(90.0, None, None, [])
    assert (decision.promote, decision.reason, decision.champion_mae) == (True, "first", None)
    assert decision.message == "promoted: no champion serves yet"


def test_better_or_within_tolerance_is_promoted_and_says_by_how_much() -> None:
    better = decide(95.0, 100.0, "3", [])
    assert (better.promote, better.reason, better.champion_mae) == (True, "better", 100.0)
    assert better.message == "promoted: out-of-time MAE 95.00 vs champion v3 100.00 on the same rows"
    assert decide(101.5, 100.0, "3", []).promote  # slightly worse, within 2 %


def test_worse_is_refused_with_the_numbers() -> None:
    worse = decide(110.0, 100.0, "3", [])
    assert (worse.promote, worse.reason, worse.missing_features) == (False, "worse", [])
    assert worse.message == (
        "NOT promoted: out-of-time MAE 110.00 is worse than champion v3 100.00 by more than 2%"
    )
    assert decide(110.0, 100.0, "3", [], tolerance=0.2).promote  # a looser gate lets it through


@pytest.mark.parametrize(("champion_mae", "champion"), [(100.0, "3"), (None, None)])
def test_missing_required_feature_refuses_whatever_the_mae(champion_mae, champion) -> None:  # type: ignore[no-untyped-def]
    missing = ["room_type"]
    decision = decide(1.0, champion_mae, champion, missing)
    assert (decision.promote, decision.reason, decision.missing_features) == (
        False,
        "contract",
        ["room_type"],
    )
    assert "room_type" in decision.message and decision.message.startswith("NOT promoted")
    missing.append("price")
    assert decision.missing_features == ["room_type"]  # the decision keeps its own copy


def test_label_shift_flags_a_median_jump_or_a_heavy_tail_not_a_real_market_move() -> None:
    rng = np.random.default_rng(0)
    train = rng.lognormal(np.log(160), 0.6, 5000)
    assert label_shift(train, rng.lognormal(np.log(170), 0.65, 2000)) is None  # 2016-07-like move
    jumped = label_shift(train, train[:2000] * 100)
    assert jumped is not None and jumped.startswith("median price") and "more than 1.5x apart" in jumped
    tail = np.concatenate([train[:1800], np.full(200, 5000.0)])  # median kept, 10 % far above
    assert label_shift(train, tail).endswith("(at most 10% allowed)")
    assert label_shift(train, np.array([])) is None


def test_labels_and_mae_jump_refuse_before_the_same_rows_comparison() -> None:
    labels = decide(90.0, 90.0, "3", [], label_jump="median price 4500.00 vs 160.00")
    assert (labels.promote, labels.reason) == (False, "labels") and "held from training" in labels.message
    jump = decide(200.5, 199.0, "3", [], champion_own_mae=83.0)  # a tie on the same bad rows
    assert (jump.promote, jump.reason) == (False, "mae_jump")
    assert jump.message == (
        "NOT promoted: out-of-time MAE 200.50 is more than 2x champion v3's own validation MAE 83.00"
    )
    assert decide(106.0, 110.0, "1", [], champion_own_mae=60.0).promote  # 2016-07-02's real 1.8x
    assert decide(90.0, None, None, [], champion_own_mae=None).reason == "first"
