"""Dashboard figures about prices and models: predicted vs actual, price by group, model versions.

Every builder takes a plain pandas frame and returns a "no data yet" placeholder when it is empty.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from airbnb_assets.monitoring.dashboard.common import (
    ACTUAL_COLOR,
    BASE_LAYOUT,
    DRIFT_COLOR,
    NEUTRAL_COLOR,
    OK_COLOR,
    PREDICTED_COLOR,
    add_mae_lines,
    by_date,
    count,
    empty_figure,
    flags,
    has_rows,
    label,
)


def predictions_figure(predictions: pd.DataFrame) -> go.Figure:
    """Chart 1: median predicted vs median actual price per run date, the 80 % band and its coverage.

    Args:
        predictions: ``run_date, model_version, median_predicted, median_actual, n_rows`` (one row
            per run date), and when recorded ``median_p10, median_p90, coverage_80``.

    Returns:
        The figure: prices on the left axis, the share of priced rows inside their interval on the
        right (the target, 80 %, dotted).
    """
    if not has_rows(predictions, ["run_date", "median_predicted", "median_actual"]):
        return empty_figure()
    df = by_date(predictions)
    n_rows = df["n_rows"].map(count) if "n_rows" in df.columns else pd.Series("n/a", index=df.index)
    version = df["model_version"].map(label) if "model_version" in df.columns else n_rows.map(lambda _: "n/a")
    custom = list(zip(n_rows, version, strict=True))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if {"median_p10", "median_p90"} <= set(df.columns) and df["median_p90"].notna().any():
        for edge, fill in (("median_p90", None), ("median_p10", "tonexty")):
            fig.add_trace(
                go.Scatter(
                    x=df["run_date"],
                    y=df[edge],
                    name="80 % interval",
                    legendgroup="band",
                    showlegend=fill is not None,
                    mode="lines",
                    line={"color": PREDICTED_COLOR, "width": 0},
                    fill=fill,
                    fillcolor="rgba(31, 119, 180, 0.15)",
                    hovertemplate=f"{edge.removeprefix('median_')} %{{y:$,.0f}}",
                ),
                secondary_y=False,
            )
    for kind, color in (("predicted", PREDICTED_COLOR), ("actual", ACTUAL_COLOR)):
        fig.add_trace(
            go.Scatter(
                x=df["run_date"],
                y=df[f"median_{kind}"],
                name=f"median {kind}",
                mode="lines+markers",
                line={"color": color},
                customdata=custom,
                hovertemplate="%{y:$,.0f} (rows %{customdata[0]}, model %{customdata[1]})",
            ),
            secondary_y=False,
        )
    if "coverage_80" in df.columns and df["coverage_80"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=df["run_date"],
                y=df["coverage_80"],
                name="interval coverage",
                mode="lines+markers",
                line={"color": NEUTRAL_COLOR, "dash": "dash"},
                hovertemplate="%{y:.0%} of priced rows inside",
            ),
            secondary_y=True,
        )
        fig.add_hline(y=0.8, line={"color": NEUTRAL_COLOR, "dash": "dot", "width": 1}, secondary_y=True)
    fig.update_layout(**BASE_LAYOUT, height=360)
    fig.update_yaxes(title_text="price (USD)", tickprefix="$", secondary_y=False)
    fig.update_yaxes(title_text="coverage", tickformat=".0%", range=[0, 1], secondary_y=True)
    return fig


def price_by_group_figure(price_by_group: pd.DataFrame) -> go.Figure:
    """Chart 2: median predicted and actual price per neighbourhood x room type (two heatmaps).

    Args:
        price_by_group: ``neighbourhood, room_type, median_predicted, median_actual, n`` (latest day).

    Returns:
        The figure.
    """
    cols = ["neighbourhood", "room_type", "median_predicted", "median_actual"]
    if not has_rows(price_by_group, cols):
        return empty_figure()
    df = price_by_group.copy()
    df["neighbourhood"] = df["neighbourhood"].map(label)
    df["room_type"] = df["room_type"].map(label)
    if "n" not in df.columns:
        df["n"] = pd.NA
    neighbourhoods = sorted(df["neighbourhood"].unique())
    room_types = sorted(df["room_type"].unique())
    counts = df.pivot_table(index="neighbourhood", columns="room_type", values="n", aggfunc="sum")
    counts = counts.reindex(index=neighbourhoods, columns=room_types)
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.03, subplot_titles=("predicted", "actual")
    )
    for col, kind in enumerate(("predicted", "actual"), start=1):
        grid = df.pivot_table(index="neighbourhood", columns="room_type", values=f"median_{kind}")
        grid = grid.reindex(index=neighbourhoods, columns=room_types)
        fig.add_trace(
            go.Heatmap(
                z=grid.to_numpy(),
                x=room_types,
                y=neighbourhoods,
                coloraxis="coloraxis",
                customdata=counts.map(count).to_numpy(),
                texttemplate="%{z:$,.0f}",
                hovertemplate=f"%{{y}} / %{{x}}<br>median {kind}: %{{z:$,.0f}}<br>listings: %{{customdata}}"
                "<extra></extra>",
                hoverongaps=False,
            ),
            row=1,
            col=col,
        )
    fig.update_layout(
        template="plotly_white",
        height=max(320, 26 * len(neighbourhoods) + 110),
        margin={"l": 20, "r": 20, "t": 40, "b": 40},
        coloraxis={"colorscale": "Blues", "colorbar": {"title": "USD", "tickprefix": "$"}},
    )
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(type="category")
    return fig


def model_versions_figure(model_versions: pd.DataFrame, until: object = None) -> go.Figure:
    """Chart 6: champion model version over time with promoted/refused candidates, val vs baseline MAE.

    The champion of a day is the last promoted version up to that day.

    Args:
        model_versions: ``run_date, model_version, promoted, val_mae, baseline_mae``.
        until: Date the champion line is extended to (the dashboard's run date) when it is later than
            the last training run.

    Returns:
        The figure.
    """
    if not has_rows(model_versions, ["run_date", "model_version", "promoted"]):
        return empty_figure()
    df = by_date(model_versions)
    df["model_version"] = df["model_version"].map(label)
    df["promoted"] = flags(df["promoted"])
    versions = list(dict.fromkeys(df["model_version"]))
    champion_x = list(df["run_date"])
    champion = list(df["model_version"].where(df["promoted"]).ffill())
    end = pd.to_datetime(pd.Series([until]), errors="coerce").iloc[0]
    if pd.notna(end) and end > champion_x[-1] and pd.notna(champion[-1]):
        champion_x.append(end)
        champion.append(champion[-1])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.5, 0.5])
    fig.add_trace(
        go.Scatter(
            x=champion_x,
            y=champion,
            name="champion",
            mode="lines",
            line={"shape": "hv", "color": PREDICTED_COLOR, "width": 3},
            hovertemplate="champion: %{y}",
        ),
        row=1,
        col=1,
    )
    for promoted, name, symbol, color in (
        (True, "promoted", "triangle-up", OK_COLOR),
        (False, "refused", "x", DRIFT_COLOR),
    ):
        part = df[df["promoted"] == promoted]
        fig.add_trace(
            go.Scatter(
                x=part["run_date"],
                y=part["model_version"],
                name=name,
                mode="markers",
                marker={"symbol": symbol, "size": 12, "color": color},
                hovertemplate=f"{name}: %{{y}}",
            ),
            row=1,
            col=1,
        )
    add_mae_lines(
        fig,
        df,
        (
            ("val_mae", "out-of-time MAE", PREDICTED_COLOR, "solid"),
            ("baseline_mae", "baseline MAE", NEUTRAL_COLOR, "dash"),
        ),
        row=2,
    )
    fig.update_layout(**BASE_LAYOUT, height=420)
    fig.update_yaxes(
        title_text="model version",
        type="category",
        categoryorder="array",
        categoryarray=versions,
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text="MAE (USD)", rangemode="tozero", row=2, col=1)
    return fig
