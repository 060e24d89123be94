"""The notifier: delivers each alert through one channel and keeps a JSONL audit trail of all.

:class:`NotifierResource` wraps any :class:`~airbnb_assets.resources.notifier.channels.AlertChannel`
(log only, webhook, Slack, Teams, e-mail) and appends every alert, whatever the channel and whether
delivery worked, as one JSON line to ``log_path``. The channels and their variables are in
:mod:`airbnb_assets.resources.notifier.channels`; ``log_path`` is not a variable: it belongs under
the environment's root (``<root>/<env>/_artifacts/alerts/alerts.jsonl``).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import dagster as dg
from pydantic import Field

from airbnb_assets.platform.artifacts import append_line
from airbnb_assets.resources.notifier.alert import Alert, AlertDeliveryError
from airbnb_assets.resources.notifier.channels import (
    CHANNELS,
    AlertChannel,
    EmailChannel,
    LogChannel,
    NotifierConfigError,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from airbnb_assets.resources.secrets import SecretsResource

__all__ = [
    "CHANNELS",
    "Alert",
    "AlertChannel",
    "AlertDeliveryError",
    "EmailChannel",
    "LogChannel",
    "NotifierConfigError",
    "NotifierResource",
    "SlackChannel",
    "TeamsChannel",
    "WebhookChannel",
]


class NotifierResource(dg.ConfigurableResource):
    """Sends :class:`Alert` s through ``channel`` and appends each one to the JSONL ``log_path``.

    Each JSONL line is the alert payload plus ``sent_at`` (UTC, ISO 8601), ``backend``,
    ``delivered`` and ``error`` (the safe failure message, or ``null``).
    """

    log_path: str = Field(description="JSONL audit trail; every alert is appended, whatever the channel.")
    channel: AlertChannel

    def __init__(self, **data: Any) -> None:
        # Dagster rejects a default on a nested resource field, so the default is filled in here.
        data.setdefault("channel", LogChannel(secrets=SecretsResource()))
        super().__init__(**data)

    def check_settings(self) -> None:
        """Raise :class:`NotifierConfigError` if the channel lacks a setting (named, never quoted)."""
        self.channel.check_settings()

    def delivery_metadata(self) -> dict[str, str]:
        """Non-secret facts about the notifier for Dagster metadata (backend, log path, channel's own)."""
        return {
            "alert_backend": self.channel.backend,
            "alert_log_path": self.log_path,
            **self.channel.metadata(),
        }

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` through the channel, then append it to the JSONL log.

        The log line is written even when delivery fails (with ``delivered: false``), so the audit
        trail holds every alert. Raises :class:`NotifierConfigError` (settings missing or invalid)
        or :class:`AlertDeliveryError` (the channel did not accept the alert).
        """
        payload = alert.to_payload()
        backend = self.channel.backend
        error: NotifierConfigError | AlertDeliveryError | None = None
        try:
            self.channel.check_settings()
            self.channel.deliver(payload)
        except (NotifierConfigError, AlertDeliveryError) as exc:
            error = exc
        record = {
            **payload,
            "sent_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "backend": backend,
            "delivered": error is None,
            "error": None if error is None else str(error),
        }
        append_line(self.log_path, json.dumps(record, ensure_ascii=False, allow_nan=False))
        logger = dg.get_dagster_logger()
        if error is not None:
            logger.warning(f"alert {alert.kind!r} ({alert.env}) not delivered via {backend}: {error}")
            raise error
        logger.info(f"alert {alert.kind!r} ({alert.env}) sent via {backend}: {alert.title}")
