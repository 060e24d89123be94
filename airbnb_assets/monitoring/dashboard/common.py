"""Shared dashboard helpers: colours, safe labels, dates, "no data yet" placeholder, report links.

Free text coming from the data (neighbourhoods, room types, rules, columns, model versions) goes through
:func:`label` before it reaches plotly: plotly renders a small subset of HTML in labels and decodes
``&lt;``/``&gt;``/``&amp;``, so escaped text is displayed literally and never interpreted.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
import plotly.graph_objects as go

PREDICTED_COLOR = "#1f77b4"
ACTUAL_COLOR = "#ff7f0e"
OK_COLOR = "#2ca02c"
DRIFT_COLOR = "#d62728"
NEUTRAL_COLOR = "#7f7f7f"
TOP_DRIFTED_FEATURES = 8

BASE_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    "hovermode": "x unified",
}


def label(value: object) -> str:
    """Text safe to show in a plotly label, hover or tick (HTML-escaped, ``None``/NaN become "n/a").

    Args:
        value: Any value from the data.

    Returns:
        The escaped string form of the value.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return "n/a"
    return html.escape(str(value), quote=False)


def count(value: object) -> str:
    """Integer count with thousands separators, "n/a" when missing or not a number.

    Args:
        value: A count from the data.

    Returns:
        The formatted count.
    """
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "n/a" if pd.isna(number) else f"{int(number):,}"


def has_rows(frame: pd.DataFrame | None, columns: Iterable[str]) -> bool:
    """Whether ``frame`` has at least one row and all the ``columns`` a chart needs.

    Args:
        frame: The input frame (may be ``None``).
        columns: Column names the chart reads.

    Returns:
        ``True`` when the chart can be drawn from the frame.
    """
    return frame is not None and not frame.empty and set(columns).issubset(frame.columns)


def by_date(frame: pd.DataFrame, column: str = "run_date") -> pd.DataFrame:
    """Copy of ``frame`` with ``column`` parsed as datetimes, invalid dates dropped, sorted by date.

    Args:
        frame: Input frame with a date column (strings, dates or timestamps).
        column: Name of the date column.

    Returns:
        The cleaned, sorted copy.
    """
    out = frame.copy()
    out[column] = pd.to_datetime(out[column], errors="coerce")
    return out.dropna(subset=[column]).sort_values(column, kind="stable").reset_index(drop=True)


def flags(series: pd.Series) -> pd.Series:
    """Boolean series with missing values read as ``False``.

    Args:
        series: A boolean-like series (may hold ``None``/NaN/``pd.NA``).

    Returns:
        A plain ``bool`` series.
    """
    return series.astype("boolean").fillna(False).astype(bool)


def empty_figure(message: str = "no data yet", height: int = 320) -> go.Figure:
    """Placeholder figure with a centred message and no axes.

    Args:
        message: Text to show.
        height: Figure height in pixels.

    Returns:
        The figure.
    """
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": label(message),
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 18, "color": NEUTRAL_COLOR},
            }
        ],
    )
    return fig


def day_string(value: object) -> str | None:
    """``YYYY-MM-DD`` form of a date-like value.

    Args:
        value: A date, timestamp or date string.

    Returns:
        The day, or ``None`` when the value is not a date.
    """
    stamp = pd.to_datetime(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def report_href(report_path: str, base_dir: str | None = None) -> str | None:
    """Relative, URL-quoted link to a drift report, ``None`` when it cannot be linked relatively.

    Relative paths are taken as relative to the dashboard already; absolute paths are made relative to
    ``base_dir`` (the dashboard's directory, default the working directory). Remote URIs (``s3://``,
    ``dbfs:/``, ``https://``...) cannot be relative links and give ``None``.

    Args:
        report_path: Path of the drift report HTML file.
        base_dir: Directory of the dashboard file.

    Returns:
        The link (not yet HTML-escaped) or ``None``.
    """
    if len(urlsplit(report_path).scheme) > 1:
        return None
    path = report_path
    if os.path.isabs(path):
        path = os.path.relpath(path, base_dir or os.getcwd())
    return quote(path.replace(os.sep, "/"))


def add_mae_lines(
    fig: go.Figure, df: pd.DataFrame, lines: Iterable[tuple[str, str, str, str]], row: int
) -> None:
    """Add one line per ``(column, name, color, dash)`` present in ``df`` (USD values over run dates)."""
    for column, name, color, dash in lines:
        if column in df.columns:
            fig.add_trace(
                go.Scatter(
                    x=df["run_date"],
                    y=pd.to_numeric(df[column], errors="coerce"),
                    name=name,
                    mode="lines+markers",
                    line={"color": color, "dash": dash},
                    hovertemplate=f"{name}: %{{y:$,.2f}}",
                ),
                row=row,
                col=1,
            )
