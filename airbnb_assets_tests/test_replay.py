"""The replay's day line (``make demo``): what a day did, and when the sensor's interval held it up."""

from __future__ import annotations

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
