"""The alert dataclass and the error raised when an alert cannot be delivered.

Re-exported by :mod:`airbnb_assets.resources.notifier.resource`, which is the module to import from.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class AlertDeliveryError(RuntimeError):
    """An alert could not be delivered; the message never contains a URL or a credential."""


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: numpy scalars unwrapped, dates as ISO text, NaN/inf as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / pandas scalar
        return _jsonable(value.item())
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy array
        return _jsonable(value.tolist())
    raise TypeError(f"alert details contain a value of type {type(value).__name__}, not JSON-serialisable")


@dataclasses.dataclass(frozen=True)
class Alert:
    """One drift alert.

    Attributes:
        kind: ``data_drift``, ``model_drift`` or ``drift_cleared`` (free text).
        env: ``dev``, ``test`` or ``prod``.
        title: One line.
        summary: One or two sentences naming what drifted.
        details: JSON-serialisable facts (drifted columns and scores, metrics).
        report_url: Link to the HTML report (``file://`` path locally).
        severity: ``info``, ``warning`` (default) or ``critical``.
        run_date: The partition / day the alert is about.
    """

    kind: str
    env: str
    title: str
    summary: str
    details: dict
    report_url: str | None = None
    severity: str = "warning"
    run_date: str | None = None

    def to_payload(self) -> dict:
        """The JSON body every backend derives from (numpy scalars and NaN made plain JSON).

        Returns:
            ``kind``, ``env``, ``severity``, ``title``, ``summary``, ``details``, ``report_url``
            and ``run_date``.

        Raises:
            TypeError: ``details`` holds a value that cannot be expressed in JSON.
        """
        return {
            "kind": self.kind,
            "env": self.env,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "details": _jsonable(self.details),
            "report_url": self.report_url,
            "run_date": self.run_date,
        }
