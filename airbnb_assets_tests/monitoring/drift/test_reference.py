"""The champion's reference sample is stored once per version; the scored days come from the stats rows."""

import datetime as dt
from pathlib import Path

from airbnb_assets.ml.prediction_stats import stats_rows
from airbnb_assets.monitoring.drift.reference import (
    champion_reference,
    previous_day,
    reference_path,
    scored_days,
)
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


def test_scored_days_and_the_previous_one_come_from_the_stats_rows(lakehouse: LakehouseResource) -> None:
    days = [dt.date(2017, 3, 2), dt.date(2017, 4, 2), dt.date(2017, 5, 2)]
    assert scored_days(lakehouse) == {}  # no table yet
    scored = {days[0]: 7000, days[1]: 0, days[2]: 6500}  # nothing scored on the second day
    rows = [
        r
        for i, (day, n) in enumerate(scored.items())
        for r in stats_rows(day, day - dt.timedelta(days=1), str(i + 1), {"rows_scored": n}, quarantined=0)
    ]
    lakehouse.append(lakehouse.create_frame(rows, DRIFT_METRICS), DRIFT_METRICS)
    before = last_spark_job(lakehouse)
    found = scored_days(lakehouse)
    assert last_spark_job(lakehouse) == before  # read from the Delta log, no Spark job
    assert found == {days[0]: (dt.date(2017, 3, 1), "1", 7000), days[2]: (dt.date(2017, 5, 1), "3", 6500)}
    assert [previous_day(found, d) for d in days] == [None, days[0], days[0]]
    # Where Spark reads the table (a cluster), the answer is the same.
    assert scored_days(lakehouse.model_copy(update={"delta_rs": False})) == found
