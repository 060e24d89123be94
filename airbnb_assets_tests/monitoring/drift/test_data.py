"""Data drift on the real snapshots: each replayed day against the snapshots before it (gold of the
six packaged files, built with the pipeline's transforms by ``conftest.snapshot_gold_rows``)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from airbnb_assets.ml.contract import CATEGORICAL, NUMERIC
from airbnb_assets.monitoring.drift.data import (
    CAT_METHOD,
    DRIFT_SHARE,
    NUM_METHOD,
    DataDriftResult,
    data_drift,
)
from airbnb_assets.monitoring.drift.evidently import AVAILABILITY_METHOD

ONLY_IN_2019_06 = {"host_is_superhost", "review_scores_rating", "cleaning_fee"}
ABSENT_IN_2019_06 = {"minimum_nights", "availability_365", "days_since_last_review", "host_listings_count"}


def replay_day(gold: pd.DataFrame, day: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The champion's training rows (every earlier snapshot) and the day's rows."""
    date = dt.date.fromisoformat(day)
    return gold[gold.snapshot_date < date], gold[gold.snapshot_date == date]


@pytest.fixture(scope="module")
def day_drift(snapshot_gold_rows: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Data drift of a replay day with the default settings (computed once per day)."""
    cache: dict[str, DataDriftResult] = {}

    def run(day: str) -> DataDriftResult:
        if day not in cache:
            cache[day] = data_drift(*replay_day(snapshot_gold_rows, day))
        return cache[day]

    return run


def test_control_day_2017_04_has_no_dataset_drift(day_drift) -> None:  # type: ignore[no-untyped-def]
    result = day_drift("2017-04-02")
    assert not result.dataset_drift
    # comfortable margin: at least two more of the ten compared columns would have to drift
    assert len(result.columns) == 10
    assert len(result.drifted_columns) <= DRIFT_SHARE * len(result.columns) - 2
    # the features nobody sent before 2019-06 are null on both sides: skipped and listed
    assert set(result.skipped) == ONLY_IN_2019_06
    assert all("null in reference and current" == why for why in result.skipped.values())
    assert result.n_reference == 20_000 < result.n_reference_total
    assert {c.method for c in result.columns} == {NUM_METHOD, CAT_METHOD}


def test_2019_06_schema_change_is_dataset_drift(day_drift) -> None:  # type: ignore[no-untyped-def]
    result = day_drift("2019-06-02")
    assert result.dataset_drift
    assert result.share_drifted >= DRIFT_SHARE + 0.2
    by_availability = {c.column for c in result.columns if c.method == AVAILABILITY_METHOD}
    assert by_availability == ONLY_IN_2019_06 | ABSENT_IN_2019_06
    assert all(c.drifted for c in result.columns if c.method == AVAILABILITY_METHOD)
    assert result.column("minimum_nights").current_non_null == 0.0
    assert result.column("minimum_nights").score == pytest.approx(1.0)
    assert result.column("cleaning_fee").reference_non_null == 0.0
    assert result.skipped == {}
    # schema drift is the most severe: listed first
    assert set(result.drifted_columns[: len(by_availability)]) == by_availability


def test_2019_10_drift_names_minimum_nights_availability_and_room_type(day_drift) -> None:  # type: ignore[no-untyped-def]
    result = day_drift("2019-10-14")
    assert result.dataset_drift
    assert result.share_drifted >= DRIFT_SHARE + 0.2
    assert {"minimum_nights", "availability_365", "room_type"} <= set(result.drifted_columns)
    assert result.column("room_type").method == CAT_METHOD
    assert result.column("minimum_nights").method == NUM_METHOD
    for name in ("minimum_nights", "availability_365", "room_type"):
        col = result.column(name)
        assert col.score >= 1.1 * col.threshold, col
    # present in the reference (2019-06 rows) but absent on the day: availability drift
    assert {c.column for c in result.columns if c.method == AVAILABILITY_METHOD} == ONLY_IN_2019_06
    severities = [c.severity for c in result.columns if c.drifted]
    assert severities == sorted(severities, reverse=True)


def test_report_json_and_html(day_drift) -> None:  # type: ignore[no-untyped-def]
    result = day_drift("2019-10-14")
    summary = json.loads(json.dumps(result.as_json(), allow_nan=False))
    assert summary["dataset_drift"] is True
    assert summary["drifted_columns"] == result.drifted_columns
    assert {row["column"] for row in summary["columns"]} == set(NUMERIC + CATEGORICAL)
    row = next(r for r in summary["columns"] if r["column"] == "room_type")
    assert row == {**row, "kind": "categorical", "method": CAT_METHOD, "drifted": True}
    assert "<html" in result.html.lower() and "Dataset DRIFT" in result.html
    assert "host_is_superhost: non-null share" in result.html
    assert len(result.html) > 100_000


def test_sampling_bounds_the_rows_and_is_reproducible(snapshot_gold_rows: pd.DataFrame) -> None:
    reference, current = replay_day(snapshot_gold_rows, "2019-10-14")
    first = data_drift(reference, current, max_rows=3000, seed=7)
    again = data_drift(reference, current, max_rows=3000, seed=7)
    other = data_drift(reference, current, max_rows=3000, seed=8)
    assert (first.n_reference, first.n_current) == (3000, 3000)
    assert (first.n_reference_total, first.n_current_total) == (len(reference), len(current))
    assert first.as_json() == again.as_json()
    assert [c.score for c in first.columns] != [c.score for c in other.columns]


def test_null_columns_are_drift_or_skipped_never_a_crash(snapshot_gold_rows: pd.DataFrame) -> None:
    reference, current = replay_day(snapshot_gold_rows, "2017-04-02")
    reference = reference.head(3000)
    current = current.head(3000).drop(columns=["availability_365"]).assign(room_type=None)
    result = data_drift(reference, current)
    vanished = result.column("availability_365")
    assert (vanished.method, vanished.drifted, vanished.current_non_null) == (AVAILABILITY_METHOD, True, 0.0)
    assert vanished.score == pytest.approx(reference.availability_365.notna().mean())
    assert result.column("room_type").method == AVAILABILITY_METHOD
    assert set(result.skipped) == ONLY_IN_2019_06
    with pytest.raises(ValueError, match="rows on both sides"):
        data_drift(reference, current.iloc[0:0])
