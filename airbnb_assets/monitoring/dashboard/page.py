"""Daily monitoring dashboard: one self-contained, offline HTML page with six plotly charts.

Pure rendering (pandas in, HTML out): no Spark, no Dagster. plotly.js is inlined exactly once, the page
loads nothing from the network (no CDN, no external fonts) and every chart degrades to "no data yet" when
its input frame is empty. The figures themselves are built in
:mod:`~airbnb_assets.monitoring.dashboard.price_figures` and
:mod:`~airbnb_assets.monitoring.dashboard.drift_figures`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
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


@dataclass
class DashboardData:
    """Everything the dashboard shows, as plain pandas frames (any frame may be empty).

    Attributes:
        env: Environment name (``local``, ``dev``, ``prod``...).
        run_date: The day the dashboard is for (``YYYY-MM-DD``).
        predictions: ``run_date, model_version, mean_predicted, mean_actual, median_predicted,
            median_p10, median_p90, coverage_80, market_level,
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
        "Daily median nightly price, predicted vs actual, with the 80 % interval (the medians of its "
        "ends) and the share of priced listings inside their interval (right axis; target 80 %).",
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


@dataclass(frozen=True)
class ReportLink:
    """A drift report in the page: ``href`` relative to the page, or ``None`` (the path is shown)."""

    text: str
    path: str
    href: str | None


def _reports(data: DashboardData, base_dir: str | None) -> tuple[ReportLink | None, list[ReportLink]]:
    """The badge day's drift report and every report (newest first)."""
    drift = data.drift
    if drift.empty or not {"run_date", "report_path"}.issubset(drift.columns):
        return None, []
    rows = drift.assign(_day=drift["run_date"].map(day_string))
    rows = rows[rows["report_path"].map(lambda p: isinstance(p, str) and bool(p.strip()))]
    rows = rows.sort_values("_day", ascending=False, na_position="last")
    drifted = flags(rows["dataset_drift"]) if "dataset_drift" in rows.columns else [False] * len(rows)
    status_day = _status_day(data)
    latest, links = None, []
    for day, report, is_drift in zip(rows["_day"], rows["report_path"], drifted, strict=True):
        report = report.strip()
        if day is not None and day == status_day and latest is None:
            latest = ReportLink("drift report", report, report_href(report, base_dir))
        text = (day or "unknown date") + (" (drift)" if is_drift else "")
        links.append(ReportLink(text, report, report_href(report, base_dir)))
    return latest, links


def _facts(data: DashboardData) -> list[tuple[str, str]]:
    """Key figures of the run date (rows scored, model version) for the header."""
    facts: list[tuple[str, str]] = []
    predictions = data.predictions
    if not predictions.empty and "run_date" in predictions.columns:
        today = predictions[predictions["run_date"].map(day_string) == day_string(data.run_date)]
        if not today.empty:
            row = today.iloc[-1]
            if "n_rows" in row.index:
                facts.append(("rows scored", count(row["n_rows"])))
            if "model_version" in row.index and pd.notna(row["model_version"]):
                facts.append(("model", str(row["model_version"])))
    return facts


def _plot(spec: ChartSpec, data: DashboardData, include_plotlyjs: bool | str) -> str:
    """The chart's plotly ``<div>`` (plotly.js inlined in the first one only)."""
    return spec.build(data).to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        div_id=f"{spec.chart_id}-plot",
        config=_PLOTLY_CONFIG,
        default_width="100%",
    )


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("airbnb_assets.monitoring.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render_dashboard(data: DashboardData, base_dir: str | None = None) -> str:
    """Render the dashboard (``templates/dashboard.html.j2``) as one self-contained HTML page.

    plotly.js is inlined once and the page works offline; empty frames render as "no data yet"
    charts. Absolute report paths are linked relative to ``base_dir`` (default: the working dir).
    """
    status = drift_status(data)
    latest, reports = _reports(data, base_dir)
    charts = [
        {**vars(spec), "plot": _plot(spec, data, "inline" if index == 0 else False)}
        for index, spec in enumerate(CHARTS)
    ]
    return _TEMPLATES.get_template("dashboard.html.j2").render(
        env=str(data.env),
        run_date=str(data.run_date),
        status=status,
        badge_class={"OK": "ok", "DRIFT": "drift"}.get(status, "none"),
        latest_report=latest,
        reports=reports,
        facts=_facts(data),
        charts=charts,
    )


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
