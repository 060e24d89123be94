"""Declared silver expectations, as data: (name, SQL predicate, action), like DLT.

* ``warn``: the row is kept and counted.
* ``drop``: the row goes to ``silver/listings_quarantine`` with the names of the rules it failed.
* ``fail``: the row goes to quarantine like a ``drop`` rule while the rule's failing share in
  its file stays within ``max_failed_share`` (default for ``fail`` rules:
  :data:`FAIL_MAX_FAILED_SHARE`, 1 %); a file above it (or where every row fails) is *held*:
  none of its rows reaches silver until an operator releases or rejects it
  (:mod:`airbnb_assets.silver.held`). Its blocking ERROR check fails for that run.

A predicate that evaluates to NULL counts as a failure, so each predicate says how it treats
missing values. A missing price is allowed: future arrivals may lack it, and scoring them is
what the model is for.

A rule's check fails when more than ``max_failed_share`` of a file's rows fail it (0: any row),
or all of them do. Rules are counted per source file: a snapshot normally arrives as one file. The
data-contract rules (one per required model feature, generated from
:data:`airbnb_assets.gold.features.FEATURES`) use that to tell a column a file no longer sends
(or renamed) from a few listings without a value; they keep the rows and raise an ERROR check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from airbnb_assets.gold.features import FEATURES, MAX_MISSING_SHARE

Action = Literal["warn", "drop", "fail"]

#: Prices at or above this are placeholders (10000 on inactive listings), not nightly rates.
PRICE_CAP = 10_000
#: Airbnb's own maximum for minimum nights; larger values (100,000,000) are errors.
MAX_MINIMUM_NIGHTS = 1125
#: San Francisco bounding box (city and county, with a small margin).
SF_BOUNDS = {"lat_min": 37.63, "lat_max": 37.85, "lon_min": -122.56, "lon_max": -122.35}
#: Room types the model knows; others are counted (warn), never lost.
KNOWN_ROOM_TYPES = ("Entire home/apt", "Private room", "Shared room")
#: Share of a file's rows a ``fail`` rule may reject (the rows are quarantined) before the file is held.
FAIL_MAX_FAILED_SHARE = 0.01


@dataclass(frozen=True)
class Expectation:
    """One data-quality rule over silver columns.

    ``max_failed_share`` is the share of a file's rows that may fail the rule before its check
    fails (and, for a ``fail`` rule, before the file is held); ``None`` means the default:
    :data:`FAIL_MAX_FAILED_SHARE` for ``fail`` rules, 0 (any row) otherwise.
    """

    name: str
    predicate: str
    action: Action
    description: str
    max_failed_share: float | None = None
    severity: Literal["WARN", "ERROR"] | None = None

    @property
    def failed_share_limit(self) -> float:
        """The share of a file's rows that may fail the rule: as declared, else the action's default."""
        if self.max_failed_share is not None:
            return self.max_failed_share
        return FAIL_MAX_FAILED_SHARE if self.action == "fail" else 0.0

    @property
    def check_severity(self) -> str:
        """Severity of the rule's check: as declared, else ERROR for ``fail`` rules and WARN otherwise."""
        return self.severity or ("ERROR" if self.action == "fail" else "WARN")

    def passes(self, failed_rows: int, total_rows: int) -> bool:
        """Whether a file's counts pass the rule's check: within the limit, and not every row failing."""
        if total_rows > 0 and failed_rows == total_rows:
            return False
        return failed_rows <= self.failed_share_limit * total_rows


#: One presence rule per required model feature: the data contract every arrival must honour.
CONTRACT_EXPECTATIONS: tuple[Expectation, ...] = tuple(
    Expectation(
        f"feature_present_{f.name}",
        f"{f.source_column} IS NOT NULL",
        "warn",
        f"The model's required feature {f.name} arrives: {f.source_column} is non-null on at least "
        f"{1 - MAX_MISSING_SHARE:.0%} of each snapshot's rows (a missing or renamed column fails).",
        max_failed_share=MAX_MISSING_SHARE,
        severity="ERROR",
    )
    for f in FEATURES
    if f.required
)

EXPECTATIONS: tuple[Expectation, ...] = (
    Expectation(
        "id_not_null",
        "id IS NOT NULL",
        "fail",
        "Every listing has a numeric id (a file where more than 1 % of rows lack one is held).",
    ),
    Expectation(
        "price_in_range",
        f"price IS NULL OR (price > 0 AND price < {PRICE_CAP})",
        "drop",
        f"A known price is positive and below the {PRICE_CAP} placeholder cap.",
    ),
    Expectation(
        "minimum_nights_in_range",
        f"minimum_nights IS NULL OR minimum_nights BETWEEN 1 AND {MAX_MINIMUM_NIGHTS}",
        "drop",
        f"Minimum nights between 1 and Airbnb's maximum of {MAX_MINIMUM_NIGHTS}.",
    ),
    Expectation(
        "coordinates_in_sf",
        "latitude BETWEEN {lat_min} AND {lat_max} AND longitude BETWEEN {lon_min} AND {lon_max}".format(
            **SF_BOUNDS
        ),
        "drop",
        "The listing lies inside San Francisco.",
    ),
    Expectation(
        "room_type_known",
        "room_type IN ({})".format(", ".join(f"'{r}'" for r in KNOWN_ROOM_TYPES)),
        "warn",
        "Room type is one the model was built for (new types are kept and counted).",
    ),
    Expectation(
        "values_parse",
        "size(_parse_errors) = 0",
        "drop",
        "Every present value could be parsed into its declared type.",
    ),
    Expectation(
        "unique_listing_snapshot",
        "_duplicate_rank = 1",
        "drop",
        "One row per (listing id, snapshot date); later duplicates are quarantined.",
    ),
    *CONTRACT_EXPECTATIONS,
)


def by_action(action: Action, rules: tuple[Expectation, ...] = EXPECTATIONS) -> list[Expectation]:
    """The rules with the given action."""
    return [r for r in rules if r.action == action]
