"""The promotion gate (pure policy): the contract first, then the out-of-time MAE with a tolerance."""

import pytest

from airbnb_assets.ml.promotion import PROMOTION_TOLERANCE, decide, passes_gate


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
