"""The feature contract: new data never breaks scoring."""

import datetime as dt

import pandas as pd
from pyspark.sql import functions as F

from airbnb_assets.ml.contract import CONTRACT, conform
from airbnb_assets.ml.scoring import score
from airbnb_assets.resources.mlflow import MlflowResource
from airbnb_assets_tests.ml.conftest import register


def test_new_columns_missing_column_new_category_and_type_change_still_scored(
    spark,
    real_gold,
    labelled: pd.DataFrame,
    mlflow_store: MlflowResource,  # type: ignore[no-untyped-def]
) -> None:
    client = mlflow_store.activate()
    reg = register(client, mlflow_store.model_name, labelled)
    changed = (
        real_gold.filter("snapshot_date = DATE'2017-04-02'")
        .withColumn("amenities", F.lit("wifi"))  # two new columns
        .withColumn("bedrooms", F.lit(2))
        .drop("availability_365")  # one feature missing
        .withColumn(
            "room_type", F.when(F.col("listing_id") % 10 == 0, "Hotel room").otherwise(F.col("room_type"))
        )
        .withColumn("number_of_reviews", F.col("number_of_reviews").cast("int"))  # double → int
        .withColumn("minimum_nights", F.col("minimum_nights").cast("bigint"))
        .withColumn("price", F.when(F.col("listing_id") % 3 == 0, F.lit(None)).otherwise(F.col("price")))
    )
    rows = changed.count()
    scored = score(spark, changed, reg.model_uri, mlflow_store.model_name, reg.version, dt.date(2017, 4, 2))
    predictions = scored.predictions.cache()
    assert predictions.count() == rows
    invalid = "model_prediction IS NULL OR isnan(model_prediction) OR model_prediction <= 0"
    assert predictions.filter(invalid).count() == 0
    assert predictions.filter("listing_id % 10 = 0").count() > 0  # new room type scored
    assert predictions.filter("actual_price IS NULL").count() == changed.filter("price IS NULL").count() > 0
    assert scored.missing == ["availability_365"]
    assert set(scored.extra) == {"amenities", "bedrooms"}
    assert scored.rejected.count() == 0


def test_uncastable_value_is_quarantined_with_a_reason(spark) -> None:  # type: ignore[no-untyped-def]
    df = spark.createDataFrame(
        [(1, dt.date(2020, 1, 1), "12", "Mission"), (2, dt.date(2020, 1, 1), "lots", "Mission")],
        "listing_id bigint, snapshot_date date, number_of_reviews string, neighbourhood string",
    )
    out = conform(df)
    assert [r["listing_id"] for r in out.rows.collect()] == [1]
    rejected = out.rejected.collect()
    assert [(r["listing_id"], r["reason"]) for r in rejected] == [
        (2, "number_of_reviews: cannot cast lots to double")
    ]
    assert len(out.missing) == len(CONTRACT) - 2
    assert dict(out.rows.dtypes)["number_of_reviews"] == "double"


def test_a_days_rejected_rows_are_counted_and_a_clean_day_writes_nothing(lakehouse) -> None:  # type: ignore[no-untyped-def]
    from airbnb_assets.ml.assets.predictions import write_quarantine
    from airbnb_assets.platform.tables import PREDICTIONS_QUARANTINE as QUARANTINE

    def rejects(day: dt.date, n: int):  # type: ignore[no-untyped-def]
        row = {"snapshot_date": day, "reason": "price: not a number", "record": "{}", "run_date": day}
        rows = [{**row, "listing_id": 1_000_000_000_000_000_000 + i, "model_version": "1"} for i in range(n)]
        return lakehouse.create_frame([{**r, "model_name": "airbnb_price"} for r in rows], QUARANTINE)

    first, later = dt.date(2019, 6, 2), dt.date(2019, 10, 14)
    both = [("run_date", "in", [first, later])]
    assert write_quarantine(lakehouse, rejects(first, 0), first) == (0, [])
    assert lakehouse.exists(QUARANTINE)  # the first write creates the table, even empty
    assert write_quarantine(lakehouse, rejects(first, 2), first) == (2, ["price: not a number"] * 2)
    version = lakehouse.version(QUARANTINE)
    # A clean day after it: 0 rejected (its empty overwrite would commit nothing, so the table's last
    # commit is still the day before, with its 2 rows), and nothing is written.
    assert write_quarantine(lakehouse, rejects(later, 0), later) == (0, [])
    assert lakehouse.version(QUARANTINE) == version
    assert lakehouse.grouped_counts(QUARANTINE, "run_date", both) == {first: 2}
    # The first day rerun once its rows score: its quarantined rows are cleared.
    assert write_quarantine(lakehouse, rejects(first, 0), first) == (0, [])
    assert lakehouse.grouped_counts(QUARANTINE, "run_date", both) == {}
