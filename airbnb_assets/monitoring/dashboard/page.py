"""Daily monitoring dashboard: one self-contained, offline HTML page with six plotly charts.

Pure rendering (pandas in, HTML out): no Spark, no Dagster. plotly.js is inlined exactly once, the page
loads nothing from the network (no CDN, no external fonts) and every chart degrades to "no data yet" when
its input frame is empty. The figures themselves are built in
:mod:`~airbnb_assets.monitoring.dashboard.price_figures` and
:mod:`~airbnb_assets.monitoring.dashboard.drift_figures`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from airbnb_assets.monitoring.dashboard.common import count, day_string, flags, report_href
from airbnb_assets.monitoring.dashboard.drift_figures import (
    data_quality_figure,
    drift_figure,
    drifted_features_figure,
)
from airbnb_assets.monitoring.dashboard.price_figures import (
    model_versions_figure,
    predictions_figure,
    price_by_group_figure,
)
from airbnb_assets.platform.artifacts import ArtifactStore

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
# Charts drawn before the grid has its final width (the first one, which carries plotly.js) are
# resized to their container once the page has loaded.
_RESIZE_SCRIPT = (
    "window.addEventListener('load',function(){document.querySelectorAll('.js-plotly-plot')"
    ".forEach(function(p){Plotly.Plots.resize(p);});});"
)


@dataclass
class DashboardData:
    """Everything the dashboard shows, as plain pandas frames (any frame may be empty).

    Attributes:
        env: Environment name (``local``, ``dev``, ``prod``...).
        run_date: The day the dashboard is for (``YYYY-MM-DD``).
        predictions: ``run_date, model_version, mean_predicted, mean_actual, median_predicted,
            median_actual, n_rows`` (one row per run date).
        price_by_group: ``neighbourhood, room_type, median_predicted, median_actual, n`` (latest day).
        drift: ``run_date, dataset_drift, share_drifted, model_mae, reference_mae, report_path``.
        drifted_features: ``run_date, column, score, drifted`` (per-column drift history).
        data_quality: ``run_date, rule, action, failed_rows, total_rows``.
        model_versions: ``run_date, model_version, promoted, val_mae, baseline_mae``.
    """

    env: str
    run_date: str
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    price_by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    drift: pd.DataFrame = field(default_factory=pd.DataFrame)
    drifted_features: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_versions: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class ChartSpec:
    """One dashboard chart: container id, title, one-line description and figure builder.

    Attributes:
        chart_id: Stable id of the chart container (``chart-...``).
        title: Heading shown above the chart.
        description: Short explanation shown under the heading.
        build: Builds the figure from the dashboard data.
        wide: Whether the chart spans the full page width.
    """

    chart_id: str
    title: str
    description: str
    build: Callable[[DashboardData], go.Figure]
    wide: bool = False


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "chart-predictions",
        "Predicted vs actual price",
        "Daily mean (solid) and median (dotted) nightly price, predicted vs actual.",
        lambda d: predictions_figure(d.predictions),
    ),
    ChartSpec(
        "chart-model-versions",
        "Model versions",
        "Champion version (step line), promoted / refused candidates, validation vs baseline MAE.",
        lambda d: model_versions_figure(d.model_versions, until=d.run_date),
    ),
    ChartSpec(
        "chart-drift",
        "Drift status",
        "Share of drifted columns (red: dataset drift) and model MAE vs reference MAE.",
        lambda d: drift_figure(d.drift),
    ),
    ChartSpec(
        "chart-drifted-features",
        "Most drifted features",
        "Drift score of the 8 columns with the highest score; \u2605 marks a drifted column.",
        lambda d: drifted_features_figure(d.drifted_features),
    ),
    ChartSpec(
        "chart-data-quality",
        "Data quality",
        "Rows failing each data-quality rule per day (hover for the rule action and total rows).",
        lambda d: data_quality_figure(d.data_quality),
        wide=True,
    ),
    ChartSpec(
        "chart-price-by-group",
        "Median price by neighbourhood and room type",
        "Latest day, predicted vs actual median price (hover for the number of listings).",
        lambda d: price_by_group_figure(d.price_by_group),
        wide=True,
    ),
)

_CSS = """
:root { color-scheme: light; --ok: #2ca02c; --drift: #d62728; --muted: #6b7280; --border: #e5e7eb; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: #111827;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #111827; color: #f9fafb; padding: 16px 24px; }
header h1 { margin: 0 0 6px; font-size: 22px; font-weight: 600; }
.meta { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; font-size: 14px; }
.meta .key { color: #9ca3af; margin-right: 4px; }
.badge { display: inline-block; padding: 3px 10px; border-radius: 999px; font-weight: 700;
         font-size: 13px; letter-spacing: .04em; background: #6b7280; color: #fff; }
.badge.ok { background: var(--ok); }
.badge.drift { background: var(--drift); }
.reports { margin-top: 8px; font-size: 13px; }
header a { color: #93c5fd; }
.reports summary { cursor: pointer; color: #d1d5db; }
.reports ul { margin: 4px 0 0; padding-left: 18px; columns: 3 220px; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; padding: 16px; }
.card { background: #fff; border: 1px solid var(--border); border-radius: 8px; padding: 12px 16px;
        min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h2 { margin: 0; font-size: 16px; }
.card p { margin: 2px 0 8px; color: var(--muted); font-size: 13px; }
.chart { width: 100%; min-height: 300px; }
"""


def _status_day(data: DashboardData) -> str | None:
    """Day whose drift row gives the badge: the run date, else the latest drift day before it."""
    drift = data.drift
    if drift.empty or "run_date" not in drift.columns:
        return None
    days = drift["run_date"].map(day_string).dropna()
    run_day = day_string(data.run_date) or str(data.run_date)
    days = days[days <= run_day]
    return None if days.empty else str(days.max())


def drift_status(data: DashboardData) -> str:
    """Drift badge of the run date: ``OK``, ``DRIFT`` or ``NO DATA``.

    Uses the drift row of the run date, else the latest row before it.

    Args:
        data: The dashboard data.

    Returns:
        The badge text.
    """
    day = _status_day(data)
    if day is None or "dataset_drift" not in data.drift.columns:
        return "NO DATA"
    rows = data.drift[data.drift["run_date"].map(day_string) == day]
    return "DRIFT" if bool(flags(rows["dataset_drift"]).any()) else "OK"


def _report_link(report: str, text: str, base_dir: str | None, element_id: str = "") -> str:
    """``<a>`` to a drift report, or the path as code when it cannot be linked relatively."""
    href = report_href(report, base_dir)
    if href is None:
        return f"{html.escape(text)}: <code>{html.escape(report)}</code>"
    id_attr = f' id="{element_id}"' if element_id else ""
    return f'<a{id_attr} href="{html.escape(href)}">{html.escape(text)}</a>'


def _reports_html(data: DashboardData, base_dir: str | None) -> tuple[str, str]:
    """Link to the badge day's drift report and the list of all reports (newest first), as HTML."""
    drift = data.drift
    if drift.empty or not {"run_date", "report_path"}.issubset(drift.columns):
        return "", ""
    rows = drift.assign(_day=drift["run_date"].map(day_string))
    rows = rows[rows["report_path"].map(lambda p: isinstance(p, str) and bool(p.strip()))]
    rows = rows.sort_values("_day", ascending=False, na_position="last")
    drifted = flags(rows["dataset_drift"]) if "dataset_drift" in rows.columns else [False] * len(rows)
    status_day = _status_day(data)
    latest, items = "", []
    for day, report, is_drift in zip(rows["_day"], rows["report_path"], drifted, strict=True):
        report = report.strip()
        if day is not None and day == status_day and not latest:
            latest = _report_link(report, "drift report", base_dir, element_id="drift-report")
        text = (day or "unknown date") + (" (drift)" if is_drift else "")
        items.append(f"<li>{_report_link(report, text, base_dir)}</li>")
    if not items:
        return latest, ""
    summary = f"<summary>All drift reports ({len(items)})</summary>"
    return latest, f'<details class="reports">{summary}<ul>{"".join(items)}</ul></details>'


def _facts_html(data: DashboardData) -> str:
    """Key figures of the run date (rows scored, model version) as header items."""
    facts = []
    predictions = data.predictions
    if not predictions.empty and "run_date" in predictions.columns:
        today = predictions[predictions["run_date"].map(day_string) == day_string(data.run_date)]
        if not today.empty:
            row = today.iloc[-1]
            if "n_rows" in row.index:
                facts.append(("rows scored", count(row["n_rows"])))
            if "model_version" in row.index and pd.notna(row["model_version"]):
                facts.append(("model", str(row["model_version"])))
    return "".join(
        f'<span><span class="key">{html.escape(key)}</span>{html.escape(value)}</span>'
        for key, value in facts
    )


def _chart_html(spec: ChartSpec, data: DashboardData, include_plotlyjs: bool | str) -> str:
    """One chart card: heading, description and the plotly div inside the ``.chart`` container."""
    figure = spec.build(data)
    plot = figure.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        div_id=f"{spec.chart_id}-plot",
        config=_PLOTLY_CONFIG,
        default_width="100%",
    )
    css_class = "card wide" if spec.wide else "card"
    return (
        f'<section class="{css_class}">'
        f"<h2>{html.escape(spec.title)}</h2><p>{html.escape(spec.description)}</p>"
        f'<div id="{html.escape(spec.chart_id)}" class="chart">{plot}</div></section>'
    )


def render_dashboard(data: DashboardData, base_dir: str | None = None) -> str:
    """Render the dashboard as one self-contained HTML page (plotly.js inlined once, works offline).

    Args:
        data: The dashboard data; empty frames render as "no data yet" charts.
        base_dir: Directory the page will be written to; absolute report paths are linked relative to it
            (default: the working directory).

    Returns:
        The HTML page.
    """
    status = drift_status(data)
    latest_report, all_reports = _reports_html(data, base_dir)
    badge_class = {"OK": "ok", "DRIFT": "drift"}.get(status, "none")
    charts = "\n".join(
        _chart_html(spec, data, "inline" if index == 0 else False) for index, spec in enumerate(CHARTS)
    )
    env = html.escape(str(data.env))
    run_date = html.escape(str(data.run_date))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Airbnb price monitoring \u2014 {env} \u2014 {run_date}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>Airbnb price monitoring</h1>
<div class="meta">
<span><span class="key">env</span>{env}</span>
<span><span class="key">run date</span>{run_date}</span>
<span><span class="key">drift</span><span id="drift-status" class="badge {badge_class}">{status}</span>
{latest_report}</span>
{_facts_html(data)}
</div>
{all_reports}
</header>
<main>
{charts}
</main>
<script>{_RESIZE_SCRIPT}</script>
</body>
</html>
"""


def write_dashboard(data: DashboardData, store: ArtifactStore, relative: str = "dashboard/index.html") -> str:
    """Render the dashboard and write it to the artefact store; return the path written.

    Args:
        data: The dashboard data.
        store: The environment's artefact store.
        relative: Location of the page in the store (report links are made relative to it).
    """
    target = store.path(relative)
    base_dir = str(Path(target).parent.resolve())
    return store.write_text(relative, render_dashboard(data, base_dir=base_dir))
