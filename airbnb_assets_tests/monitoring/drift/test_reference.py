"""The champion's reference sample is stored once per version; the previous day comes from the stats rows."""

import datetime as dt
from pathlib import Path

from airbnb_assets.ml.prediction_stats import stats_rows
from airbnb_assets.monitoring.drift.reference import champion_reference, previous_day, reference_path
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import DRIFT_METRICS, GOLD
from airbnb_assets_tests.conftest import build_gold, last_spark_job, snapshot_file

FEATURES = ["room_type", "minimum_nights", "availability_365"]


def test_reference_is_sampled_once_then_read(lakehouse: LakehouseResource, spark) -> None:  # type: ignore[no-untyped-def]
    lakehouse.append(build_gold(spark, [snapshot_file("2017-03-02"), snapshot_file("2017-04-02")]), GOLD)
    march = lakehouse.read(GOLD).filter("snapshot_date = DATE'2017-03-02'").count()

    first = champion_reference(lakehouse, "airbnb_price", "1", ["2017-03-02"], FEATURES, 100_000, 42)
    path = Path(lakehouse.artifacts.path(reference_path("airbnb_price", "1")))
    assert len(first) == march and list(first.columns) == FEATURES  # below the cap: every row
    stored = (path.stat().st_mtime_ns, path.read_bytes())

    # A later day reads the stored sample (even if gold changed since): the file is not rewritten.
    again = champion_reference(lakehouse, "airbnb_price", "1", ["2017-03-02", "2017-04-02"], FEATURES, 10, 1)
    assert (path.stat().st_mtime_ns, path.read_bytes()) == stored
    assert again.equals(first)

    # Another version gets its own, capped, reproducible sample.
    capped = champion_reference(
        lakehouse, "airbnb_price", "2", ["2017-03-02", "2017-04-02"], FEATURES, 2_000, 42
    )
    assert 1_500 < len(capped) < 2_500
    assert Path(lakehouse.artifacts.path(reference_path("airbnb_price", "2"))).exists()


def test_previous_day_is_the_last_scored_day_before(lakehouse: LakehouseResource) -> None:
    days = [dt.date(2017, 3, 2), dt.date(2017, 4, 2), dt.date(2017, 5, 2)]
    assert previous_day(lakehouse, days[2]) is None  # no table yet
    scored = {days[0]: 7000, days[1]: 0, days[2]: 6500}  # nothing scored on the second day
    rows = [
        r
        for day, n in scored.items()
        for r in stats_rows(day, day, "1", {"rows_scored": n, "mean_predicted": 180.0}, quarantined=0)
    ]
    lakehouse.append(lakehouse.create_frame(rows, DRIFT_METRICS), DRIFT_METRICS)
    before = last_spark_job(lakehouse)
    assert previous_day(lakehouse, days[2]) == days[0]
    assert previous_day(lakehouse, days[1]) == days[0]
    assert previous_day(lakehouse, days[0]) is None
    assert last_spark_job(lakehouse) == before  # read from the Delta log, no Spark job
    # Where Spark reads the table (a cluster), the answer is the same.
    spark_read = lakehouse.model_copy(update={"delta_rs": False})
    assert [previous_day(spark_read, d) for d in days] == [None, days[0], days[0]]
