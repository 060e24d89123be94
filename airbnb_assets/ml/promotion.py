"""The promotion gate: whether a retrained model may replace the champion (pure policy, no I/O).

A retrain on day T evaluates a *challenger* trained on the snapshots before T on snapshot T, and
the champion that served T on the same rows (both out of time). The challenger wins when

* the latest snapshot T honours the data contract: no required feature is missing from it
  (null on more than :data:`~airbnb_assets.gold.features.MAX_MISSING_SHARE` of its rows), since a
  refit on T would learn from the broken column; and
* its MAE is not worse than the champion's by more than :data:`PROMOTION_TOLERANCE`.

A winner is then refit on every labelled row up to T and registered as champion (serving from
T+1); a loser is registered as challenger with the reason, and the champion keeps serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: A challenger may be at most this much worse (relative out-of-time MAE) and still be promoted.
PROMOTION_TOLERANCE = 0.02


@dataclass(frozen=True)
class Decision:
    """The gate's verdict: promote or not, why (``first``/``better``/``worse``/``contract``), a message."""

    promote: bool
    reason: str
    message: str
    champion_mae: float | None = None
    missing_features: list[str] = field(default_factory=list)


def passes_gate(candidate_mae: float, champion_mae: float, tolerance: float = PROMOTION_TOLERANCE) -> bool:
    """Whether a challenger's MAE is within ``tolerance`` of the champion's (or better)."""
    return candidate_mae <= champion_mae * (1.0 + tolerance)


def decide(
    challenger_mae: float,
    champion_mae: float | None,
    champion: str | None,
    missing_features: list[str],
    tolerance: float = PROMOTION_TOLERANCE,
) -> Decision:
    """Apply the contract rule, then the MAE rule (``champion`` is ``None`` when none is serving)."""
    if missing_features:
        return Decision(
            False,
            "contract",
            "NOT promoted: the latest snapshot lacks required feature(s) "
            f"{', '.join(missing_features)}; a refit would learn from the broken column",
            champion_mae,
            list(missing_features),
        )
    if champion is None or champion_mae is None:
        return Decision(True, "first", "promoted: no champion serves yet", None)
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
