"""Shared pieces of the drift reports: the per-column result, sampling and thin Evidently wrappers.

Used by :mod:`airbnb_assets.monitoring.drift.data` and :mod:`airbnb_assets.monitoring.drift.model`.
Evidently is imported inside the functions: the import costs seconds and ~300 MB, which code
locations that only load the asset definitions should not pay. Every report gets an explicit
``DataDefinition`` and ``include_tests=True``.
"""

from __future__ import annotations

import html as html_lib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Rows sampled per side (fixed seed) before Evidently runs; bounds the cost of a large day.
MAX_ROWS = 20_000
#: Seed of that sampling: the same inputs and seed give the same result.
SEED = 42
#: Method name of a column that is entirely null on exactly one side.
AVAILABILITY_METHOD = "availability"

_P_VALUE_METHODS = {"ks", "chisquare", "z", "t_test", "mannw", "anderson", "cramer_von_mises", "es"}
_P_VALUE_METHODS |= {"fisher_exact", "g_test", "TVD", "empirical_mmd"}


def number(value: float | None) -> float | None:
    """A JSON-safe float (``None`` for missing, NaN or infinite values)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def numeric(series: pd.Series) -> pd.Series:
    """Values as float64; unparseable or infinite values become NaN."""
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return values.where(np.isfinite(values))


#: ``<`` and ``>`` in data values, as the fullwidth signs that look like them. Evidently writes
#: category values into an inline ``<script>`` (and its charts into the page) without escaping,
#: so a listing titled ``</script><script>...`` would run in the browser of whoever opens the
#: report. Without these two characters no value can close the script, open a tag, an event
#: handler, an SVG or an iframe.
INERT = str.maketrans({"<": "\uff1c", ">": "\uff1e"})


def categorical(series: pd.Series) -> pd.Series:
    """Values as strings (object dtype), made inert for HTML (:data:`INERT`); nulls become ``None``."""
    values = series.astype(object).where(series.notna(), None)
    return values.map(lambda v: v if v is None else str(v).translate(INERT))


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column: method, score, threshold, verdict and non-null shares of both sides."""

    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool
    reference_non_null: float = 1.0
    current_non_null: float = 1.0

    @property
    def severity(self) -> float:
        """Score relative to the threshold (>= 1 means drifted); infinite for availability drift."""
        if self.method == AVAILABILITY_METHOD:
            return math.inf
        if self.score <= 0 or self.threshold <= 0:
            return 0.0
        return self.threshold / self.score if self.method in _P_VALUE_METHODS else self.score / self.threshold

    def as_json(self) -> dict[str, Any]:
        """JSON-serialisable row."""
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "score": number(self.score),
            "threshold": number(self.threshold),
            "drifted": bool(self.drifted),
            "severity": number(self.severity),
            "reference_non_null": number(self.reference_non_null),
            "current_non_null": number(self.current_non_null),
        }


def sample_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``frame``, drawn without replacement with a fixed seed."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    if len(frame) <= max_rows:
        return frame
    return frame.sample(n=max_rows, random_state=seed)


def _status_failed(test: dict[str, Any]) -> bool:
    status = test.get("status")
    return str(getattr(status, "value", status)).upper() == "FAIL"


def _value_drift_rows(snapshot_dict: dict[str, Any], kinds: dict[str, str]) -> dict[str, ColumnDrift]:
    """Per-column ``ValueDrift`` metrics and tests of a snapshot, keyed by column."""
    failed = {
        test["metric_config"]["params"]["column"]: _status_failed(test)
        for test in snapshot_dict.get("tests", [])
        if test.get("metric_config", {}).get("params", {}).get("type", "").endswith(":ValueDrift")
    }
    rows: dict[str, ColumnDrift] = {}
    for metric in snapshot_dict["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith(":ValueDrift"):
            continue
        column = config["column"]
        rows[column] = ColumnDrift(
            column=column,
            kind=kinds[column],
            method=str(config["method"]),
            score=float(metric["value"]),
            threshold=float(config["threshold"]),
            drifted=failed[column],
        )
    return rows


def column_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    options: dict[str, Any],
) -> tuple[dict[str, ColumnDrift], str]:
    """Run ``DataDriftPreset`` over the given columns; return per-column rows and the report HTML.

    ``options`` are passed to ``DataDriftPreset`` (``drift_share``, ``num_method``, ...). A column
    must have at least one non-null value on each side.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = [*numeric, *categorical]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report([DataDriftPreset(columns=columns, **options)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    kinds = {**{n: "numeric" for n in numeric}, **{n: "categorical" for n in categorical}}
    return _value_drift_rows(snapshot.dict(), kinds), snapshot.get_html_str(as_iframe=False)


def series_drift(
    reference: pd.Series, current: pd.Series, *, method: str, threshold: float
) -> tuple[ColumnDrift, str]:
    """Evidently ``ValueDrift`` of one numeric series (nulls dropped); the row and the report HTML."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    name = str(current.name or reference.name or "value")
    definition = DataDefinition(numerical_columns=[name])
    report = Report([ValueDrift(column=name, method=method, threshold=threshold)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current.rename(name).to_frame(), data_definition=definition),
        Dataset.from_pandas(reference.rename(name).to_frame(), data_definition=definition),
    )
    return _value_drift_rows(snapshot.dict(), {name: "numeric"})[name], snapshot.get_html_str(as_iframe=False)


def regression_html(labelled: pd.DataFrame, *, target: str, prediction: str, mae_limit: float) -> str:
    """``RegressionPreset`` report of labelled rows; its only test is ``MAE <= mae_limit``."""
    from evidently import DataDefinition, Dataset, Regression, Report
    from evidently.presets import RegressionPreset
    from evidently.tests import lte
    from sklearn.exceptions import UndefinedMetricWarning

    definition = DataDefinition(
        numerical_columns=[prediction, target], regression=[Regression(target=target, prediction=prediction)]
    )
    preset = RegressionPreset(
        mae_tests=[lte(mae_limit)],
        mean_error_tests=[],
        mape_tests=[],
        rmse_tests=[],
        r2score_tests=[],
        abs_max_error_tests=[],
    )
    with warnings.catch_warnings():
        # Evidently's quality widget scores R² on tiny error groups too; sklearn warns there.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(labelled[[prediction, target]], data_definition=definition), None
        )
        return snapshot.get_html_str(as_iframe=False)


def with_banner(report_html: str, title: str, lines: list[str]) -> str:
    """Insert a short plain-HTML note (title + bullet lines) at the top of a report's body."""
    items = "".join(f"<li>{html_lib.escape(line)}</li>" for line in lines)
    banner = (
        '<div style="font-family:sans-serif;margin:16px;padding:12px;border:2px solid #c0392b">'
        f"<strong>{html_lib.escape(title)}</strong>{f'<ul>{items}</ul>' if items else ''}</div>"
    )
    at = report_html.find("<body")
    if at < 0:
        return banner + report_html
    end = report_html.find(">", at) + 1
    return report_html[:end] + banner + report_html[end:]
