"""The replay's day line (``make demo``): what a day did, and when the sensor's interval held it up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airbnb_assets.replay import SENSOR_NAME, Day


def day(sensor_wait: float = 0.0, alerts: list[dict[str, str]] | None = None) -> Day:
    """A scored, judged and retrained day of the replay."""
    facts = {"listings": 8102, "served_by": "4", "drift": "none", "model": "v6 promoted"}
    return Day("2019-10-14", True, "r", 22.4, facts, alerts=alerts or [], sensor_wait=sensor_wait)


def test_a_day_line_says_when_the_sensor_tick_waited_for_its_interval() -> None:
    assert day().line() == (
        "2019-10-14  ok   22s   8,102 listings · scored by v4 · drift: none · model: v6 promoted · no alert"
    )
    waited = day(sensor_wait=7.6, alerts=[{"kind": "data_drift"}]).line()
    assert waited.endswith(
        f"· 1 alert(s) (data_drift) · then 8s waiting for {SENSOR_NAME}'s minimum interval"
    )
    assert "waiting" not in day(sensor_wait=0.2).line()  # below half a second: not worth a word


#: A new process: ``start_spark_early`` with the session's start recorded instead of run; prints
#: the masters it started and whether scikit-learn was imported.
EARLY_START = """
import sys
from airbnb_assets import replay
from airbnb_assets.platform.spark import SparkResource
started = []
SparkResource.start_in_background = lambda self: started.append(self.master)
replay.start_spark_early()
print(started, "sklearn" in sys.modules)
"""


def test_a_local_run_imports_scikit_learn_while_spark_starts_and_a_databricks_one_neither(
    tmp_path: Path,
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRBNB_", "DATABRICKS_"))}
    local = {**base, "AIRBNB_LAKEHOUSE_ROOT": str(tmp_path / "lakehouse")}
    prod = {**base, "AIRBNB_ENV": "prod", "AIRBNB_PROD_CATALOG": "main_prod"}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", EARLY_START], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for env in (local, prod)
    ]
    assert outputs == ["['local[2]'] True", "[] False"]
