"""Daily dashboard: static checks on the HTML and a real render in headless Chromium (Selenium)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from airbnb_assets.monitoring.dashboard.common import report_href
from airbnb_assets.monitoring.dashboard.page import (
    CHARTS,
    DashboardData,
    drift_status,
    render_dashboard,
    write_dashboard,
)
from airbnb_assets.platform.artifacts import ArtifactStore

CHART_IDS = {
    "chart-predictions",
    "chart-price-by-group",
    "chart-drift",
    "chart-drifted-features",
    "chart-data-quality",
    "chart-model-versions",
}
XSS = "<script>window.__pwned=1</script>"
XSS_IMG = '<img src=x onerror="window.__pwned=2">'
DAYS = [d.strftime("%Y-%m-%d") for d in pd.date_range("2017-03-01", periods=10, freq="D")]
DRIFT_DAYS = {DAYS[3], DAYS[4], DAYS[9]}
RUN_DATE = DAYS[-1]


# ---------------------------------------------------------------------------------------------- data
def make_data(reports_dir: Path | None = None) -> DashboardData:
    """Ten days of realistic monitoring output: drift on 3 days, versions 1 -> 3 with 2 refused."""
    rng = np.random.default_rng(7)
    champion = {day: ("1" if i < 6 else "3") for i, day in enumerate(DAYS)}
    predictions = pd.DataFrame(
        {
            "run_date": DAYS,
            "model_version": [champion[d] for d in DAYS],
            "mean_predicted": 205 + rng.normal(0, 6, len(DAYS)),
            "mean_actual": 218 + rng.normal(0, 9, len(DAYS)),
            "median_predicted": 165 + rng.normal(0, 4, len(DAYS)),
            "median_actual": 170 + rng.normal(0, 6, len(DAYS)),
            "median_p10": 95 + rng.normal(0, 3, len(DAYS)),
            "median_p90": 330 + rng.normal(0, 8, len(DAYS)),
            "coverage_80": [np.nan, *(0.8 + rng.normal(0, 0.02, len(DAYS) - 1))],  # no band on day one
            "n_rows": rng.integers(6800, 7400, len(DAYS)),
        }
    )
    neighbourhoods = ["Mission", "South of Market", "Nob Hill", "Castro/Upper Market", "Outer Sunset", XSS]
    room_types = ["Entire home/apt", "Private room", "Shared room"]
    base = {"Entire home/apt": 240.0, "Private room": 110.0, "Shared room": 60.0}
    price_by_group = pd.DataFrame(
        [
            {
                "neighbourhood": hood,
                "room_type": room,
                "median_predicted": base[room] * (1 + 0.08 * i) + rng.normal(0, 5),
                "median_actual": base[room] * (1 + 0.08 * i) + rng.normal(0, 12),
                "n": int(rng.integers(3, 400)),
            }
            for i, hood in enumerate(neighbourhoods)
            for room in room_types
            if not (room == "Shared room" and i % 2)  # some combinations have no listings
        ]
    )
    price_by_group.loc[0, "room_type"] = XSS_IMG
    reports = reports_dir or Path("reports")
    drift = pd.DataFrame(
        {
            "run_date": DAYS,
            "dataset_drift": [d in DRIFT_DAYS for d in DAYS],
            "share_drifted": [0.55 if d in DRIFT_DAYS else 0.05 + 0.02 * (i % 3) for i, d in enumerate(DAYS)],
            "model_mae": [np.nan, *(62 + rng.normal(0, 4, len(DAYS) - 1))],  # no labels on day one
            "reference_mae": [np.nan] + [58.0] * (len(DAYS) - 1),
            "report_path": [None if i == 0 else str(reports / f"drift_{d}.html") for i, d in enumerate(DAYS)],
        }
    )
    columns = [
        "price",
        "accommodates",
        "bedrooms",
        "bathrooms",
        "review_scores_rating",
        "minimum_nights",
        "availability_365",
        "number_of_reviews",
        "latitude",
        "longitude",
        "host_listings_count",
    ]
    feature_rows = []
    for day in DAYS:
        for j, column in enumerate(columns):
            score = min(1.0, 0.02 * j + (0.4 if day in DRIFT_DAYS and j < 6 else 0.0) + rng.uniform(0, 0.05))
            feature_rows.append({"run_date": day, "column": column, "score": score, "drifted": score > 0.3})
    rules = {"price_positive": "drop", "valid_coordinates": "drop", "room_type_known": "warn"}
    data_quality = pd.DataFrame(
        [
            {
                "run_date": day,
                "rule": rule,
                "action": action,
                "failed_rows": int(rng.integers(0, 40)) * (k + 1),
                "total_rows": 7300,
            }
            for day in DAYS
            for k, (rule, action) in enumerate(rules.items())
        ]
    )
    model_versions = pd.DataFrame(
        {
            "run_date": [DAYS[0], DAYS[3], DAYS[6]],
            "model_version": ["1", "2", "3"],
            "promoted": [True, False, True],
            "val_mae": [61.2, 66.8, 57.9],
            "baseline_mae": [96.0, 96.0, 95.1],
        }
    )
    return DashboardData(
        env="dev",
        run_date=RUN_DATE,
        predictions=predictions,
        price_by_group=price_by_group,
        drift=drift,
        drifted_features=pd.DataFrame(feature_rows),
        data_quality=data_quality,
        model_versions=model_versions,
    )


def empty_data() -> DashboardData:
    """Nothing computed yet: every frame empty (some with their columns, some without)."""
    return DashboardData(
        env="local",
        run_date=RUN_DATE,
        predictions=pd.DataFrame(columns=["run_date", "mean_predicted", "mean_actual", "n_rows"]),
        price_by_group=pd.DataFrame(),
        drift=pd.DataFrame(columns=["run_date", "dataset_drift", "share_drifted", "report_path"]),
        drifted_features=pd.DataFrame(columns=["run_date", "column", "score", "drifted"]),
        data_quality=pd.DataFrame(),
        model_versions=pd.DataFrame(columns=["run_date", "model_version", "promoted"]),
    )


class _Tags(HTMLParser):
    """Collects start tags with their attributes and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def page() -> str:
    return render_dashboard(make_data())


# ---------------------------------------------------------------------------------------------- unit
def test_plotly_js_inlined_exactly_once(page: str) -> None:
    assert page.count(get_plotlyjs()) == 1
    assert page.count("window.PlotlyConfig") == 1


@pytest.mark.parametrize("data", [make_data, empty_data], ids=["full", "empty"])
def test_nothing_loaded_from_the_network(data) -> None:  # type: ignore[no-untyped-def]
    tags = parse(render_dashboard(data()))
    for tag, attrs in tags.tags:
        for name in ("src", "href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), f"<{tag} {name}={value!r}>"
    assert not any(tag == "script" and "src" in attrs for tag, attrs in tags.tags)
    assert not any(tag == "link" and attrs.get("rel") == "stylesheet" for tag, attrs in tags.tags)
    assert all("@import" not in css and "url(" not in css for css in tags.styles)


@pytest.mark.parametrize("data", [make_data, empty_data], ids=["full", "empty"])
def test_six_chart_containers_with_stable_ids(data) -> None:  # type: ignore[no-untyped-def]
    tags = parse(render_dashboard(data())).tags
    charts = [attrs.get("id") for tag, attrs in tags if "chart" in (attrs.get("class") or "").split()]
    assert sorted(charts) == sorted(CHART_IDS)
    assert {spec.chart_id for spec in CHARTS} == CHART_IDS


def test_malicious_text_is_escaped(page: str) -> None:
    assert XSS not in page and XSS_IMG not in page
    assert "__pwned=1" in page  # still shown, as escaped text
    hostile = DashboardData(env='dev"><script>alert(1)</script>', run_date="<b>2017-03-10</b>")
    hostile_page = render_dashboard(hostile)
    assert "<script>alert(1)" not in hostile_page and "<b>2017" not in hostile_page
    assert "&lt;script&gt;alert(1)" in hostile_page


def test_empty_data_says_no_data_yet() -> None:
    page = render_dashboard(empty_data())
    assert page.count('"no data yet"') == len(CHART_IDS)
    assert ">NO DATA<" in page


def test_drift_badge() -> None:
    data = make_data()
    assert drift_status(data) == "DRIFT"
    data.run_date = DAYS[5]
    assert drift_status(data) == "OK"
    data.run_date = "2017-02-01"
    assert drift_status(data) == "NO DATA"
    assert drift_status(empty_data()) == "NO DATA"
    assert 'class="badge drift">DRIFT<' in render_dashboard(make_data())


def test_report_links_are_relative(tmp_path: Path) -> None:
    out = tmp_path / "site" / "dashboard.html"
    data = make_data(reports_dir=tmp_path / "reports")
    assert write_dashboard(data, ArtifactStore(str(tmp_path)), "site/dashboard.html") == str(out)
    tags = parse(out.read_text(encoding="utf-8")).tags
    latest = [attrs["href"] for tag, attrs in tags if tag == "a" and attrs.get("id") == "drift-report"]
    assert latest == [f"../reports/drift_{RUN_DATE}.html"]  # next to the badge
    links = [attrs["href"] for tag, attrs in tags if tag == "a" and attrs.get("href") and not attrs.get("id")]
    assert len(links) == len(DAYS) - 1  # the full list; day one has no report
    assert all(not link.startswith("/") for link in links)
    assert all((out.parent / link).resolve() == tmp_path / "reports" / Path(link).name for link in links)
    assert report_href("reports/a b#1.html") == "reports/a%20b%231.html"
    assert report_href("s3://bucket/drift.html") is None
    assert report_href("javascript:alert(1)") is None


CHART_SIZES = """
return Array.from(document.querySelectorAll('.chart')).map(el => {
  const svg = el.querySelector('.main-svg');
  const box = svg ? svg.getBoundingClientRect() : null;
  return {id: el.id, width: box ? box.width : 0, height: box ? box.height : 0, text: el.textContent,
          room: el.getBoundingClientRect().width};
});
"""


@pytest.mark.parametrize("data", [make_data, empty_data], ids=["full", "empty"])
def test_page_renders_offline_in_chromium(browser, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    path = Path(write_dashboard(data(), ArtifactStore(str(tmp_path)), "dashboard.html"))
    browser.get(path.as_uri())
    WebDriverWait(browser, 15).until(
        lambda d: (
            d.execute_script("return document.querySelectorAll('.chart .main-svg').length") >= len(CHART_IDS)
        )
    )

    def all_fit(driver) -> bool:  # type: ignore[no-untyped-def]
        return all(c["width"] <= c["room"] + 1 for c in driver.execute_script(CHART_SIZES))

    try:  # charts are resized to their cards once the page has loaded
        WebDriverWait(browser, 10).until(all_fit)
    except TimeoutException:
        pass  # the assertion below reports which chart is too wide
    charts = browser.execute_script(CHART_SIZES)
    assert {chart["id"] for chart in charts} == CHART_IDS
    for chart in charts:
        assert chart["width"] > 0 and chart["height"] > 0, chart["id"]
        assert chart["width"] <= chart["room"] + 1, chart  # no chart wider than its card (clipped)
        if data is empty_data:
            assert "no data yet" in chart["text"], chart["id"]
        else:
            assert "no data yet" not in chart["text"], chart["id"]

    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    assert browser.execute_script("return window.__pwned === undefined")
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(name.startswith(("file:", "data:")) for name in resources), resources
    if data is make_data:
        prices = next(chart["text"] for chart in charts if chart["id"] == "chart-predictions")
        assert "80 % interval" in prices and "interval coverage" in prices  # the band and its coverage
        # The hostile neighbourhood is displayed as literal text, not interpreted.
        text = next(chart["text"] for chart in charts if chart["id"] == "chart-price-by-group")
        assert XSS in text
