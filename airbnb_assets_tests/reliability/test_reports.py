"""Evidently's drift reports are safe to open: values from the data never execute.

Real rows of 2017-03-02 (reference) and 2017-04-02 (current) carry, in every categorical contract
column of both sides, four classes of payload: a script breakout, an event handler, an SVG and a
``javascript:`` URL. The report is opened in headless Chromium; each payload would set
``window.__pwned`` (or call ``alert``, hooked before the page's own scripts run).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from airbnb_assets.ml.contract import CATEGORICAL
from airbnb_assets.monitoring.drift.data import data_drift

PAYLOADS = {
    "script breakout": "</script><script>window.__pwned='script'</script>",
    "event handler": "<img src=x onerror=\"window.__pwned='img'\">",
    "svg": "<svg onload=\"window.__pwned='svg'\"><script>window.__pwned='svg-script'</script></svg>",
    "javascript url": "<iframe src=\"javascript:parent.__pwned='url'\"></iframe>",
}
#: Installed before any script of the page runs (Chrome DevTools Protocol): a dialog is recorded.
HOOK = "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"


def _hostile(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the payloads cycled through every categorical column (a quarter of the rows)."""
    out = rows.copy()
    payloads = list(PAYLOADS.values())
    for column in CATEGORICAL:
        out[column] = out[column].astype(object)
        for i, index in enumerate(out.index[::4]):
            out.loc[index, column] = payloads[i % len(payloads)]
    return out


@pytest.fixture(scope="module")
def report(snapshot_gold_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data drift report of the hostile rows, written as the drift asset writes it."""
    gold = snapshot_gold_rows
    reference = _hostile(gold[gold.snapshot_date == dt.date(2017, 3, 2)].head(400))
    current = _hostile(gold[gold.snapshot_date == dt.date(2017, 4, 2)].head(400))
    result = data_drift(reference, current)
    assert set(CATEGORICAL) <= {c.column for c in result.columns}  # every payload column is shown
    path = tmp_path_factory.mktemp("drift") / "data_drift.html"
    path.write_text(result.html, encoding="utf-8")
    return path


def test_no_data_value_can_close_or_open_a_tag_in_the_report(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    for payload in PAYLOADS.values():
        assert payload not in html
    # Shown as text, with the fullwidth signs (JSON-escaped in Evidently's data script).
    assert "\\uff1c/script\\uff1e\\uff1cscript\\uff1ewindow.__pwned='script'" in html


def test_no_payload_executes_when_the_report_is_opened(browser, report: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
    browser.get(report.as_uri())
    # Evidently draws its widgets once its bundle has run: wait for them, then for late handlers.
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return document.body.innerText.length") > 500
    )
    browser.execute_script("return new Promise(r => setTimeout(r, 1000))")
    assert browser.execute_script("return [window.__pwned, window.__alerts]") == [None, []]
    text = browser.execute_script("return document.body.innerText")
    assert all(f"{column}\tcat" in text for column in CATEGORICAL)  # every payload column drawn
