"""Dashboard inputs from the per-day statistics rows and the day's snapshot of gold only."""

import datetime as dt

import pandas as pd
from pyspark.sql import functions as F

from airbnb_assets.ml.prediction_stats import stats_rows
from airbnb_assets.monitoring.dashboard.data import (
    group_medians,
    predictions_over_time,
    price_by_group,
    scored_snapshots,
)
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import DRIFT_METRICS

MARCH, APRIL = dt.date(2017, 3, 2), dt.date(2017, 4, 2)


def test_predictions_over_time_reads_the_statistics_rows(lakehouse: LakehouseResource) -> None:
    stats = {"rows_scored": 7000, "mean_predicted": 190.0, "median_predicted": 150.0, "mean_actual": 200.0}
    rows = stats_rows(APRIL, APRIL, "2", stats, 3) + stats_rows(
        MARCH, MARCH, "1", {**stats, "rows_scored": 6000}, 0
    )
    rows += stats_rows(dt.date(2017, 5, 2), APRIL, "2", {"rows_scored": 0}, 0)  # nothing scored: not shown
    drift = {"run_date": APRIL, "report": "data", "column": "room_type", "score": 0.2, "drifted": True}
    lakehouse.append(lakehouse.create_frame([*rows, drift], DRIFT_METRICS), DRIFT_METRICS)
    frame = predictions_over_time(lakehouse.to_pandas(DRIFT_METRICS))
    assert frame[["run_date", "model_version", "n_rows"]].values.tolist() == [
        ["2017-03-02", "1", 6000],
        ["2017-04-02", "2", 7000],
    ]
    assert frame.loc[1, "mean_predicted"] == 190.0 and frame.loc[1, "median_predicted"] == 150.0
    assert frame["median_actual"].isna().all()
    # The snapshot each day scored, for the dashboard's read of gold (the data row records none).
    metrics = lakehouse.to_pandas(DRIFT_METRICS)
    assert scored_snapshots(metrics, "2017-04-02") == [APRIL]
    assert scored_snapshots(metrics, "2017-05-02") == [APRIL]
    assert scored_snapshots(metrics, "2017-06-02") is None and scored_snapshots(None, "2017-04-02") is None


def test_price_by_group_joins_the_days_snapshot(snapshot_gold, snapshot_gold_rows) -> None:  # type: ignore[no-untyped-def]
    predictions = (
        snapshot_gold.filter(F.col("snapshot_date") == F.lit(APRIL))
        .select(
            "listing_id",
            "snapshot_date",
            F.col("price").alias("prediction"),
            F.col("price").alias("actual_price"),
        )
        .withColumn("run_date", F.lit(APRIL))
    )
    groups = price_by_group(predictions, snapshot_gold, "2017-04-02")
    april = snapshot_gold_rows[snapshot_gold_rows.snapshot_date == APRIL]
    expected = april.groupby(["neighbourhood", "room_type"]).size()
    got = groups.dropna(subset=["neighbourhood", "room_type"]).set_index(["neighbourhood", "room_type"])["n"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert groups["n"].sum() == len(april)  # every row of the day joined its own snapshot once
    given = price_by_group(predictions, snapshot_gold, "2017-04-02", [APRIL])  # the statistics' snapshot
    key = ["neighbourhood", "room_type"]
    assert given.sort_values(key, ignore_index=True).equals(groups.sort_values(key, ignore_index=True))
    assert price_by_group(predictions, snapshot_gold, "2017-04-02", [MARCH]).empty  # only that snapshot read
    assert price_by_group(predictions, snapshot_gold, "2017-05-02").empty


def test_drift_and_quality_over_time_from_the_small_tables_as_pandas() -> None:
    import pandas as pd

    from airbnb_assets.monitoring.dashboard.data import drift_over_time, quality_over_time

    def data(day: dt.date, column: str, drifted: bool | None, verdict: bool | None, path: str | None) -> dict:
        return {
            "run_date": day,
            "report": "data",
            "column": column,
            "score": 0.1,
            "reference": None,
            "drifted": drifted,
            "dataset_drift": verdict,
            "share_drifted": 0.5 if verdict is not None else None,
            "report_path": path,
            "model_version": "1",
        }

    mae = {"run_date": APRIL, "report": "model", "column": "mae", "score": 30.0, "reference": 25.0}
    metrics = pd.DataFrame(
        [
            data(APRIL, "room_type", True, True, "/r/2017-04-02/index.html"),
            data(APRIL, "price", False, None, None),
            data(MARCH, "room_type", False, False, "/r/2017-03-02/index.html"),
            mae,
        ]
    )
    status, columns = drift_over_time(metrics)
    assert status["run_date"].tolist() == ["2017-03-02", "2017-04-02"]
    assert status["dataset_drift"].tolist() == [False, True]
    assert status["report_path"].tolist() == ["/r/2017-03-02/index.html", "/r/2017-04-02/index.html"]
    assert status["model_mae"].isna().tolist() == [True, False] and status.loc[1, "reference_mae"] == 25.0
    assert columns[["run_date", "column"]].values.tolist() == [
        ["2017-03-02", "room_type"],
        ["2017-04-02", "price"],
        ["2017-04-02", "room_type"],
    ]

    quality = pd.DataFrame(
        [
            {
                "run_date": "2017-04-02",
                "rule": "r",
                "action": "drop",
                "failed_rows": 2,
                "total_rows": 9,
                "committed": True,
            },
            {
                "run_date": "2017-04-02",
                "rule": "r",
                "action": "drop",
                "failed_rows": 3,
                "total_rows": 9,
                "committed": True,
            },
            {
                "run_date": "2017-04-02",
                "rule": "r",
                "action": "drop",
                "failed_rows": 7,
                "total_rows": 9,
                "committed": False,
            },
        ]
    )
    assert quality_over_time(quality)[["failed_rows", "total_rows"]].values.tolist() == [[5, 18]]


def test_group_medians_are_the_lower_medians_per_group_with_null_groups_kept() -> None:
    joined = pd.DataFrame(
        {
            "neighbourhood": ["Mission", "Mission", "Mission", "Mission", None, "Marina"],
            "room_type": ["Private room"] * 4 + ["Entire home/apt", "Shared room"],
            "prediction": [100.0, 300.0, 200.0, 400.0, 90.0, 50.0],
            "actual_price": [110.0, None, 210.0, 90.0, None, None],
        }
    )
    table = group_medians(joined).set_index("neighbourhood")
    assert table.loc["Mission", "median_predicted"] == 200.0  # of 100, 200, 300, 400: the lower
    assert table.loc["Mission", "median_actual"] == 110.0 and table.loc["Mission", "n"] == 4  # nulls skipped
    assert table.loc[None, "median_predicted"] == 90.0 and pd.isna(table.loc["Marina", "median_actual"])
    assert list(table.reset_index()["neighbourhood"]) == ["Mission", None, "Marina"]
