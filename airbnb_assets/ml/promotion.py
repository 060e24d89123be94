"""The promotion gate: whether a retrained model may replace the champion (pure policy, no I/O).

A retrain on day T evaluates a *challenger* trained on the snapshots before T on snapshot T, and
the champion that served T on the same rows (both out of time). The challenger wins when

* the latest snapshot T honours the data contract: no required feature is missing from it
  (null on more than :data:`~airbnb_assets.gold.features.MAX_MISSING_SHARE` of its rows), since a
  refit on T would learn from the broken column;
* T's labels did not jump (:func:`label_shift`): its median price within :data:`LABEL_MEDIAN_JUMP`
  of the training rows' and at most :data:`LABEL_TAIL_SHARE` of its prices above their 99th
  percentile. A snapshot refused for this is *held from training*: later retrains leave it out;
* its MAE is not more than :data:`MAE_JUMP` times the champion's own validation MAE (a champion
  trained on the same bad rows would tie with it on T, so the same-rows rule alone cannot see a
  broken day); and
* its MAE is not worse than the champion's on the same rows by more than :data:`PROMOTION_TOLERANCE`.

A winner is then refit on every labelled row up to T and registered as champion (serving from
T+1); a loser is registered as challenger with the reason, and the champion keeps serving.

The thresholds are measured on the six real snapshots, where the largest moves are a median
ratio of 0.94-1.04, 3.6 % of 2016-07-02's prices above the earlier 99th percentile, and an
out-of-time MAE 1.76 times the champion's own (2016-07-02); a decimal-comma day that slipped
through (45,00 read as 4500) moves all three far beyond them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: A challenger may be at most this much worse (relative out-of-time MAE) and still be promoted.
PROMOTION_TOLERANCE = 0.02
#: The latest snapshot's median price may differ from the training rows' by at most this factor.
LABEL_MEDIAN_JUMP = 1.5
#: At most this share of the latest snapshot's prices may lie above the training rows' 99th percentile.
LABEL_TAIL_SHARE = 0.10
#: A challenger's out-of-time MAE may be at most this multiple of the champion's own validation MAE.
MAE_JUMP = 2.0


@dataclass(frozen=True)
class Decision:
    """The gate's verdict: promote or not, why, and a message.

    ``reason`` is one of ``first``, ``better``, ``worse``, ``contract``, ``labels``, ``mae_jump``.
    """

    promote: bool
    reason: str
    message: str
    champion_mae: float | None = None
    missing_features: list[str] = field(default_factory=list)


def label_shift(train_prices: np.ndarray, latest_prices: np.ndarray) -> str | None:
    """Why the latest snapshot's prices jumped against the training rows' (``None``: they did not)."""
    train_prices, latest_prices = np.asarray(train_prices, float), np.asarray(latest_prices, float)
    if not len(train_prices) or not len(latest_prices):
        return None
    before, now = float(np.median(train_prices)), float(np.median(latest_prices))
    if not 1 / LABEL_MEDIAN_JUMP <= now / before <= LABEL_MEDIAN_JUMP:
        return f"median price {now:.2f} vs {before:.2f} in training (more than {LABEL_MEDIAN_JUMP}x apart)"
    tail = float(np.quantile(train_prices, 0.99))
    share = float((latest_prices > tail).mean())
    if share > LABEL_TAIL_SHARE:
        return (
            f"{share:.1%} of prices above the training rows' 99th percentile {tail:.2f} "
            f"(at most {LABEL_TAIL_SHARE:.0%} allowed)"
        )
    return None


def passes_gate(candidate_mae: float, champion_mae: float, tolerance: float = PROMOTION_TOLERANCE) -> bool:
    """Whether a challenger's MAE is within ``tolerance`` of the champion's (or better)."""
    return candidate_mae <= champion_mae * (1.0 + tolerance)


def decide(
    challenger_mae: float,
    champion_mae: float | None,
    champion: str | None,
    missing_features: list[str],
    tolerance: float = PROMOTION_TOLERANCE,
    *,
    label_jump: str | None = None,
    champion_own_mae: float | None = None,
) -> Decision:
    """Apply the contract, label and MAE-jump rules, then the same-rows MAE rule.

    ``champion`` is ``None`` when none is serving; ``label_jump`` is :func:`label_shift`'s verdict
    and ``champion_own_mae`` the champion's validation MAE when it was trained.
    """
    if missing_features:
        return Decision(
            False,
            "contract",
            "NOT promoted: the latest snapshot lacks required feature(s) "
            f"{', '.join(missing_features)}; a refit would learn from the broken column",
            champion_mae,
            list(missing_features),
        )
    if label_jump:
        return Decision(
            False,
            "labels",
            f"NOT promoted: the latest snapshot's labels jumped ({label_jump}); it is held from training",
            champion_mae,
        )
    if champion is None or champion_mae is None:
        return Decision(True, "first", "promoted: no champion serves yet", None)
    if champion_own_mae is not None and challenger_mae > MAE_JUMP * champion_own_mae:
        return Decision(
            False,
            "mae_jump",
            f"NOT promoted: out-of-time MAE {challenger_mae:.2f} is more than {MAE_JUMP:g}x champion "
            f"v{champion}'s own validation MAE {champion_own_mae:.2f}",
            champion_mae,
        )
    if passes_gate(challenger_mae, champion_mae, tolerance):
        return Decision(
            True,
            "better",
            f"promoted: out-of-time MAE {challenger_mae:.2f} vs champion v{champion} {champion_mae:.2f} "
            "on the same rows",
            champion_mae,
        )
    return Decision(
        False,
        "worse",
        f"NOT promoted: out-of-time MAE {challenger_mae:.2f} is worse than champion v{champion} "
        f"{champion_mae:.2f} by more than {tolerance:.0%}",
        champion_mae,
    )
