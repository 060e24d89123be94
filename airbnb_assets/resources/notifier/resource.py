"""The notifier: sends drift alerts through one configured backend and keeps a JSONL audit trail.

:class:`NotifierResource` delivers an :class:`Alert` with one backend — ``log`` (default: the
JSONL file only), ``webhook`` (JSON POST), ``slack`` (``dagster-slack``), ``msteams``
(``dagster-msteams``) or ``email`` (``smtplib``) — and appends every alert, whatever the backend
and whether delivery worked, as one JSON line to ``log_path``.

Secrets (webhook URL, Slack token, Teams webhook URL, SMTP password) never appear in log lines,
exception messages, the JSONL file, ``repr()``/``str()`` of the resource or in Dagster metadata
(:meth:`NotifierResource.delivery_metadata`). A secret field that is not given is read, when it is
needed, from the nested :class:`~airbnb_assets.resources.secrets.SecretsResource` under its variable
name (environment variables by default, Azure Key Vault in TEST/PROD); one given directly should
be a ``dg.EnvVar(...)``, so the Dagster UI shows the variable name instead of the value.
:func:`airbnb_assets.environments.notifier_resource` does both.

Environment variables:
    The environments module maps these variables to the resource's fields (:data:`ENV_VARS`):

    ============================  ==================================================
    Variable                      Field
    ============================  ==================================================
    ``AIRBNB_ALERT_BACKEND``      ``backend`` (``log`` | ``webhook`` | ``slack`` | ``msteams`` | ``email``)
    ``AIRBNB_ALERT_WEBHOOK_URL``  ``webhook_url`` (secret)
    ``AIRBNB_SLACK_TOKEN``        ``slack_token`` (secret, bot token ``xoxb-…``)
    ``AIRBNB_SLACK_CHANNEL``      ``slack_channel``
    ``AIRBNB_TEAMS_WEBHOOK_URL``  ``teams_webhook_url`` (secret)
    ``AIRBNB_SMTP_HOST``          ``smtp_host``
    ``AIRBNB_SMTP_PORT``          ``smtp_port`` (integer, ``dg.EnvVar.int``; default 587)
    ``AIRBNB_SMTP_USER``          ``smtp_user``
    ``AIRBNB_SMTP_PASSWORD``      ``smtp_password`` (secret)
    ``AIRBNB_ALERT_EMAIL_FROM``   ``email_from``
    ``AIRBNB_ALERT_EMAIL_TO``     ``email_to`` (comma-separated)
    ============================  ==================================================

    ``log_path`` is not a variable: it belongs under the environment's root (for example
    ``<root>/<env>/_monitoring/alerts.jsonl``).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from airbnb_assets.platform.artifacts import append_line
from airbnb_assets.resources.notifier.alert import Alert, AlertDeliveryError
from airbnb_assets.resources.notifier.backends import (
    post_msteams,
    post_slack,
    post_webhook,
    send_email,
)
from airbnb_assets.resources.secrets import SecretsError, SecretsResource

__all__ = [
    "BACKENDS",
    "ENV_VARS",
    "SECRET_FIELDS",
    "NotifierConfigError",
    "NotifierResource",
]

BACKENDS = ("log", "webhook", "slack", "msteams", "email")
#: Resource field -> environment variable the environments module maps to it.
ENV_VARS: dict[str, str] = {
    "backend": "AIRBNB_ALERT_BACKEND",
    "webhook_url": "AIRBNB_ALERT_WEBHOOK_URL",
    "slack_token": "AIRBNB_SLACK_TOKEN",
    "slack_channel": "AIRBNB_SLACK_CHANNEL",
    "teams_webhook_url": "AIRBNB_TEAMS_WEBHOOK_URL",
    "smtp_host": "AIRBNB_SMTP_HOST",
    "smtp_port": "AIRBNB_SMTP_PORT",
    "smtp_user": "AIRBNB_SMTP_USER",
    "smtp_password": "AIRBNB_SMTP_PASSWORD",
    "email_from": "AIRBNB_ALERT_EMAIL_FROM",
    "email_to": "AIRBNB_ALERT_EMAIL_TO",
}
SECRET_FIELDS = ("webhook_url", "slack_token", "teams_webhook_url", "smtp_password")
_REQUIRED = {
    "log": (),
    "webhook": ("webhook_url",),
    "slack": ("slack_token", "slack_channel"),
    "msteams": ("teams_webhook_url",),
    "email": ("smtp_host", "email_from", "email_to"),
}
_MASK = "***"


class NotifierConfigError(ValueError):
    """The notifier's settings are incomplete or invalid; the message names settings, not values."""


class NotifierResource(dg.ConfigurableResource):
    """Sends :class:`Alert` s through ``backend`` and appends each one to the JSONL ``log_path``.

    Each JSONL line is the alert payload plus ``sent_at`` (UTC, ISO 8601), ``backend``,
    ``delivered`` and ``error`` (the safe failure message, or ``null``). The secret fields
    (:data:`SECRET_FIELDS`) not given are read from ``secrets`` (default: environment variables)
    by their variable names (:data:`ENV_VARS`).
    """

    backend: str = Field(default="log", description="log | webhook | slack | msteams | email")
    log_path: str = Field(description="JSONL audit trail; every alert is appended, whatever the backend.")
    webhook_url: str | None = Field(default=None, description="Secret: generic webhook URL (JSON POST).")
    slack_token: str | None = Field(default=None, description="Secret: Slack bot token.")
    slack_channel: str | None = Field(default=None, description="Slack channel name or id.")
    slack_base_url: str | None = Field(
        default=None, description="Slack Web API base URL (default https://slack.com/api/)."
    )
    teams_webhook_url: str | None = Field(default=None, description="Secret: Teams incoming webhook URL.")
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, description="Secret: SMTP password.")
    smtp_use_tls: bool = Field(default=True, description="STARTTLS (implicit TLS on port 465).")
    email_from: str | None = None
    email_to: str | None = Field(default=None, description="Comma-separated recipients.")
    timeout_seconds: float = 10.0
    secrets: SecretsResource

    def __init__(self, **data: Any) -> None:
        # Dagster rejects a default on a nested resource field, so the default is filled in here.
        data.setdefault("secrets", SecretsResource())
        super().__init__(**data)

    # ---------------------------------------------------------------------------- secrets

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """Field values for ``repr()``/``str()``, secrets masked (``EnvVar`` shown by name)."""
        for name, value in super().__repr_args__():
            if name in SECRET_FIELDS and value is not None:
                env_name = getattr(value, "env_var_name", None)
                yield name, f"EnvVar({env_name!r})" if env_name else _MASK
            else:
                yield name, value

    def _setting(self, name: str) -> Any:
        """A field's value; an unresolved ``dg.EnvVar`` (use outside a run) is read from the environment.

        A secret field that was not given is read from ``secrets``; a secrets backend that fails
        becomes a :class:`NotifierConfigError` (its message names the secret and the vault only).
        """
        value = getattr(self, name)
        if getattr(value, "env_var_name", None) is not None and callable(getattr(value, "get_value", None)):
            return value.get_value()  # dg.EnvVar / IntEnvVar
        if value is None and name in SECRET_FIELDS:
            failure: str | None = None
            try:
                return self.secrets.get_optional(ENV_VARS[name])
            except SecretsError as exc:
                failure = f"{name}: {exc}"
            raise NotifierConfigError(failure)  # outside the except block: no chained backend error
        return value

    def _where(self, name: str) -> str:
        """Where a missing setting is looked for: its variable (and Key Vault name for a secret)."""
        if name in SECRET_FIELDS and getattr(self, name) is None:
            return self.secrets.describe(ENV_VARS[name])
        return ENV_VARS[name]

    # ---------------------------------------------------------------------------- settings

    def _backend(self) -> str:
        return str(self._setting("backend") or "log").strip().lower()

    def recipients(self) -> list[str]:
        """The ``email_to`` addresses (comma- or semicolon-separated, blanks dropped)."""
        return [a.strip() for a in re.split(r"[,;]", self._setting("email_to") or "") if a.strip()]

    def check_settings(self) -> None:
        """Check that the selected backend has everything it needs.

        Raises:
            NotifierConfigError: Unknown backend, missing settings (named with their environment
                variable) or a URL that is not http(s); values are never quoted.
        """
        backend = self._backend()
        if backend not in BACKENDS:
            raise NotifierConfigError(
                f"unknown alert backend {backend!r}; expected one of {', '.join(BACKENDS)}"
            )
        missing = [name for name in _REQUIRED[backend] if not self._setting(name)]
        if backend == "email" and self._setting("email_to") and not self.recipients():
            missing.append("email_to")
        if backend == "email" and self._setting("smtp_user") and not self._setting("smtp_password"):
            missing.append("smtp_password")
        if missing:
            named = ", ".join(f"{name} ({self._where(name)})" for name in missing)
            raise NotifierConfigError(f"alert backend {backend!r} is missing setting(s): {named}")
        for name in ("webhook_url", "teams_webhook_url", "slack_base_url"):
            needed = name == "slack_base_url" or name in _REQUIRED[backend]
            value = self._setting(name) if needed else None  # a secret not needed is not fetched
            if value:
                parsed = urlparse(str(value))
                if parsed.scheme not in ("http", "https") or not parsed.hostname:
                    raise NotifierConfigError(f"{name} must be an http(s) URL with a host (value not shown)")

    def delivery_metadata(self) -> dict[str, str]:
        """Non-secret facts about the notifier for Dagster metadata (backend, log path, channel)."""
        backend = self._backend()
        meta = {"alert_backend": backend, "alert_log_path": str(self._setting("log_path"))}
        if backend == "slack" and self._setting("slack_channel"):
            meta["alert_slack_channel"] = str(self._setting("slack_channel"))
        if backend == "email":
            meta["alert_recipients"] = str(len(self.recipients()))
        return meta

    # ---------------------------------------------------------------------------- sending

    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` through the backend, then append it to the JSONL log.

        The log line is written even when delivery fails (with ``delivered: false``), so the
        audit trail holds every alert.

        Args:
            alert: The alert to send.

        Raises:
            NotifierConfigError: The backend's settings are missing or invalid.
            AlertDeliveryError: The backend did not accept the alert.
        """
        payload = alert.to_payload()
        backend = self._backend()
        error: NotifierConfigError | AlertDeliveryError | None = None
        try:
            self.check_settings()
            self._deliver(backend, payload)
        except (NotifierConfigError, AlertDeliveryError) as exc:
            error = exc
        self._append_log(payload, backend, error)
        logger = dg.get_dagster_logger()
        if error is not None:
            logger.warning(f"alert {alert.kind!r} ({alert.env}) not delivered via {backend}: {error}")
            raise error
        logger.info(f"alert {alert.kind!r} ({alert.env}) sent via {backend}: {alert.title}")

    def _deliver(self, backend: str, payload: dict) -> None:
        timeout = float(self.timeout_seconds)
        if backend == "webhook":
            post_webhook(self._setting("webhook_url"), payload, timeout)
        elif backend == "slack":
            post_slack(
                self._setting("slack_token"),
                self._setting("slack_channel"),
                payload,
                timeout,
                base_url=self._setting("slack_base_url"),
            )
        elif backend == "msteams":
            post_msteams(self._setting("teams_webhook_url"), payload, timeout)
        elif backend == "email":
            send_email(
                payload,
                host=self._setting("smtp_host"),
                port=int(self._setting("smtp_port") or 587),
                sender=self._setting("email_from"),
                recipients=self.recipients(),
                user=self._setting("smtp_user"),
                password=self._setting("smtp_password"),
                use_tls=bool(self.smtp_use_tls),
                timeout=timeout,
            )

    def _append_log(self, payload: dict, backend: str, error: Exception | None) -> None:
        record = {
            **payload,
            "sent_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "backend": backend,
            "delivered": error is None,
            "error": None if error is None else str(error),
        }
        append_line(str(self._setting("log_path")), json.dumps(record, ensure_ascii=False, allow_nan=False))
