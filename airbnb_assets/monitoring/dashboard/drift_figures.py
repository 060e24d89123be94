"""Dashboard figures about drift and data quality: drift status, most drifted features, failed rows.

Every builder takes a plain pandas frame and returns a "no data yet" placeholder when it is empty.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from airbnb_assets.monitoring.dashboard.common import (
    BASE_LAYOUT,
    DRIFT_COLOR,
    NEUTRAL_COLOR,
    OK_COLOR,
    PREDICTED_COLOR,
    TOP_DRIFTED_FEATURES,
    add_mae_lines,
    by_date,
    count,
    empty_figure,
    flags,
    has_rows,
    label,
)


def drift_figure(drift: pd.DataFrame) -> go.Figure:
    """Chart 3: share of drifted columns (dataset-drift days in red) and model MAE vs reference MAE.

    Args:
        drift: ``run_date, dataset_drift, share_drifted, model_mae, reference_mae, report_path``.

    Returns:
        The figure.
    """
    if not has_rows(drift, ["run_date", "dataset_drift", "share_drifted"]):
        return empty_figure()
    df = by_date(drift)
    drifted = flags(df["dataset_drift"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.55, 0.45])
    for is_drift, name, color in (
        (False, "no dataset drift", OK_COLOR),
        (True, "dataset drift", DRIFT_COLOR),
    ):
        part = df[drifted == is_drift]
        fig.add_trace(
            go.Bar(
                x=part["run_date"],
                y=part["share_drifted"],
                name=name,
                marker_color=color,
                hovertemplate=f"{name}: %{{y:.0%}} of columns drifted",
            ),
            row=1,
            col=1,
        )
    add_mae_lines(
        fig,
        df,
        (
            ("model_mae", "model MAE", PREDICTED_COLOR, "solid"),
            ("reference_mae", "reference MAE", NEUTRAL_COLOR, "dash"),
        ),
        row=2,
    )
    fig.update_layout(**BASE_LAYOUT, height=420, barmode="overlay")
    fig.update_yaxes(title_text="drifted columns", tickformat=".0%", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="MAE (USD)", rangemode="tozero", row=2, col=1)
    return fig


def drifted_features_figure(drifted_features: pd.DataFrame, top: int = TOP_DRIFTED_FEATURES) -> go.Figure:
    """Chart 4: drift score of the ``top`` columns with the highest max score over time (heatmap).

    Cells where the column was flagged as drifted are marked with a star.

    Args:
        drifted_features: ``run_date, column, score, drifted`` (per-column history).
        top: How many columns to show.

    Returns:
        The figure.
    """
    if not has_rows(drifted_features, ["run_date", "column", "score"]):
        return empty_figure()
    df = by_date(drifted_features)
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    df["drifted"] = flags(df["drifted"]) if "drifted" in df.columns else False
    df["column"] = df["column"].map(label)
    ranking = df.groupby("column")["score"].max().sort_values(ascending=False, kind="stable")
    columns = list(ranking.index[:top])
    if not columns:
        return empty_figure()
    df = df[df["column"].isin(columns)]
    dates = sorted(df["run_date"].unique())
    scores = df.pivot_table(index="column", columns="run_date", values="score", aggfunc="max")
    marks = df.pivot_table(index="column", columns="run_date", values="drifted", aggfunc="max")
    scores = scores.reindex(index=columns, columns=dates)
    marks = marks.reindex(index=columns, columns=dates)
    text = [["\u2605" if mark is True or mark == 1 else "" for mark in row] for row in marks.to_numpy()]
    fig = go.Figure(
        go.Heatmap(
            z=scores.to_numpy(),
            x=dates,
            y=columns,
            text=text,
            texttemplate="%{text}",
            colorscale="Reds",
            colorbar={"title": "score"},
            hovertemplate="%{y} on %{x|%Y-%m-%d}<br>score: %{z:.3f} %{text}<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=max(300, 34 * len(columns) + 110),
        margin={"l": 20, "r": 20, "t": 20, "b": 50},
    )
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    return fig


def data_quality_figure(data_quality: pd.DataFrame) -> go.Figure:
    """Chart 5: failed rows per data-quality rule over time.

    Args:
        data_quality: ``run_date, rule, action, failed_rows, total_rows``.

    Returns:
        The figure.
    """
    if not has_rows(data_quality, ["run_date", "rule", "failed_rows"]):
        return empty_figure()
    df = by_date(data_quality)
    df["rule"] = df["rule"].map(label)
    df["action"] = df["action"].map(label) if "action" in df.columns else "n/a"
    df["total"] = df["total_rows"].map(count) if "total_rows" in df.columns else "n/a"
    fig = go.Figure()
    for rule in sorted(df["rule"].unique()):
        part = df[df["rule"] == rule]
        fig.add_trace(
            go.Scatter(
                x=part["run_date"],
                y=pd.to_numeric(part["failed_rows"], errors="coerce"),
                name=rule,
                mode="lines+markers",
                customdata=list(zip(part["action"], part["total"], strict=True)),
                hovertemplate="%{y:,} failed of %{customdata[1]} (%{customdata[0]})",
            )
        )
    fig.update_layout(**BASE_LAYOUT, height=360, yaxis_title="failed rows", yaxis_rangemode="tozero")
    return fig
