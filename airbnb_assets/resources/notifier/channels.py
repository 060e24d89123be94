"""One resource class per alert channel: log only, webhook, Slack, Microsoft Teams, e-mail.

Each class holds only its own fields and declares, as class data, the environment variable of
each field (:attr:`AlertChannel.VARIABLES`), which fields are secrets and which it cannot send
without. :func:`airbnb_assets.environments.notifier_resource` builds the channel named by
``AIRBNB_ALERT_BACKEND`` from those variables;
:class:`~airbnb_assets.resources.notifier.resource.NotifierResource` wraps any channel with the
JSONL audit log.

Secrets never appear in ``repr()``/``str()``, error messages or metadata. A secret field that is
not given is read, when needed, from the nested
:class:`~airbnb_assets.resources.secrets.SecretsResource` under its variable name (environment
variables by default, Azure Key Vault in TEST/PROD); one given directly should be a
``dg.EnvVar(...)``, so the Dagster UI shows the variable's name, not its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from airbnb_assets.resources.notifier.backends import post_msteams, post_slack, post_webhook, send_email
from airbnb_assets.resources.secrets import SecretsError, SecretsResource

__all__ = [
    "CHANNELS",
    "AlertChannel",
    "EmailChannel",
    "LogChannel",
    "NotifierConfigError",
    "SlackChannel",
    "TeamsChannel",
    "WebhookChannel",
]

_MASK = "***"


class NotifierConfigError(ValueError):
    """The notifier's settings are incomplete or invalid; the message names settings, not values."""


class AlertChannel(dg.ConfigurableResource):
    """One way to deliver an alert; a subclass declares its fields and their variables."""

    #: The ``AIRBNB_ALERT_BACKEND`` value that selects this channel.
    backend: ClassVar[str]
    #: Field -> the environment variable it is read from (a secret's name in the vault too).
    VARIABLES: ClassVar[dict[str, str]] = {}
    #: The fields that are secrets.
    SECRETS: ClassVar[tuple[str, ...]] = ()
    #: The fields the channel cannot send without.
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    #: The fields that must be http(s) URLs with a host.
    URLS: ClassVar[tuple[str, ...]] = ()

    timeout_seconds: float = 10.0
    secrets: SecretsResource

    def __init__(self, **data: Any) -> None:
        # Dagster rejects a default on a nested resource field, so the default is filled in here.
        data.setdefault("secrets", SecretsResource())
        super().__init__(**data)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """Field values for ``repr()``/``str()``, secrets masked (``EnvVar`` shown by name)."""
        for name, value in super().__repr_args__():
            if name in self.SECRETS and value is not None:
                env_name = getattr(value, "env_var_name", None)
                yield name, f"EnvVar({env_name!r})" if env_name else _MASK
            else:
                yield name, value

    def setting(self, name: str) -> Any:
        """A field's value; an unresolved ``dg.EnvVar`` (outside a run) is read from the environment.

        A secret not given is read from ``secrets``; a secrets backend that fails becomes a
        :class:`NotifierConfigError` naming the field and the vault only.
        """
        value = getattr(self, name)
        if getattr(value, "env_var_name", None) is not None and callable(getattr(value, "get_value", None)):
            return value.get_value()  # dg.EnvVar / IntEnvVar
        if value is None and name in self.SECRETS:
            failure: str | None = None
            try:
                return self.secrets.get_optional(self.VARIABLES[name])
            except SecretsError as exc:
                failure = f"{name}: {exc}"
            raise NotifierConfigError(failure)  # outside the except block: no chained backend error
        return value

    def _where(self, name: str) -> str:
        """Where a missing setting is looked for: its variable (and Key Vault name for a secret)."""
        if name in self.SECRETS and getattr(self, name) is None:
            return self.secrets.describe(self.VARIABLES[name])
        return self.VARIABLES[name]

    def _missing(self) -> list[str]:
        """The required settings that are empty (a subclass adds its own rules)."""
        return [name for name in self.REQUIRED if not self.setting(name)]

    def check_settings(self) -> None:
        """Raise :class:`NotifierConfigError` naming each missing setting and its variable."""
        missing = self._missing()
        if missing:
            named = ", ".join(f"{name} ({self._where(name)})" for name in missing)
            raise NotifierConfigError(f"alert backend {self.backend!r} is missing setting(s): {named}")
        for name in self.URLS:
            value = self.setting(name)
            parsed = urlparse(str(value)) if value else None
            if parsed is not None and (parsed.scheme not in ("http", "https") or not parsed.hostname):
                raise NotifierConfigError(f"{name} must be an http(s) URL with a host (value not shown)")

    def metadata(self) -> dict[str, str]:
        """Non-secret facts about the channel for Dagster metadata."""
        return {}

    def deliver(self, payload: dict) -> None:
        """Send one alert payload; raise ``AlertDeliveryError`` when it is not accepted."""
        raise NotImplementedError


class LogChannel(AlertChannel):
    """No delivery: the alert is only appended to the audit log (the default)."""

    backend: ClassVar[str] = "log"

    def deliver(self, payload: dict) -> None:
        """Nothing to send: the notifier's JSONL line is the alert."""


class WebhookChannel(AlertChannel):
    """A JSON POST of the alert payload to a URL."""

    backend: ClassVar[str] = "webhook"
    VARIABLES: ClassVar[dict[str, str]] = {"webhook_url": "AIRBNB_ALERT_WEBHOOK_URL"}
    SECRETS: ClassVar[tuple[str, ...]] = ("webhook_url",)
    REQUIRED: ClassVar[tuple[str, ...]] = ("webhook_url",)
    URLS: ClassVar[tuple[str, ...]] = ("webhook_url",)

    webhook_url: str | None = Field(default=None, description="Secret: the webhook URL (JSON POST).")

    def deliver(self, payload: dict) -> None:
        """POST the payload as JSON."""
        post_webhook(self.setting("webhook_url"), payload, float(self.timeout_seconds))


class SlackChannel(AlertChannel):
    """A Slack message (``chat.postMessage``) through ``dagster-slack``."""

    backend: ClassVar[str] = "slack"
    VARIABLES: ClassVar[dict[str, str]] = {
        "slack_token": "AIRBNB_SLACK_TOKEN",
        "slack_channel": "AIRBNB_SLACK_CHANNEL",
    }
    SECRETS: ClassVar[tuple[str, ...]] = ("slack_token",)
    REQUIRED: ClassVar[tuple[str, ...]] = ("slack_token", "slack_channel")
    URLS: ClassVar[tuple[str, ...]] = ("slack_base_url",)

    slack_token: str | None = Field(default=None, description="Secret: Slack bot token (xoxb-…).")
    slack_channel: str | None = Field(default=None, description="Slack channel name or id.")
    slack_base_url: str | None = Field(
        default=None, description="Slack Web API base URL (default https://slack.com/api/)."
    )

    def metadata(self) -> dict[str, str]:
        """The channel posted to."""
        channel = self.setting("slack_channel")
        return {"alert_slack_channel": str(channel)} if channel else {}

    def deliver(self, payload: dict) -> None:
        """Post the alert as a Slack message with blocks."""
        post_slack(
            self.setting("slack_token"),
            self.setting("slack_channel"),
            payload,
            float(self.timeout_seconds),
            base_url=self.setting("slack_base_url"),
        )


class TeamsChannel(AlertChannel):
    """An adaptive card to a Microsoft Teams incoming webhook (Workflows)."""

    backend: ClassVar[str] = "msteams"
    VARIABLES: ClassVar[dict[str, str]] = {"teams_webhook_url": "AIRBNB_TEAMS_WEBHOOK_URL"}
    SECRETS: ClassVar[tuple[str, ...]] = ("teams_webhook_url",)
    REQUIRED: ClassVar[tuple[str, ...]] = ("teams_webhook_url",)
    URLS: ClassVar[tuple[str, ...]] = ("teams_webhook_url",)

    teams_webhook_url: str | None = Field(default=None, description="Secret: Teams incoming webhook URL.")

    def deliver(self, payload: dict) -> None:
        """Post the alert as an adaptive card."""
        post_msteams(self.setting("teams_webhook_url"), payload, float(self.timeout_seconds))


class EmailChannel(AlertChannel):
    """An e-mail through SMTP (STARTTLS, or implicit TLS on port 465)."""

    backend: ClassVar[str] = "email"
    VARIABLES: ClassVar[dict[str, str]] = {
        "smtp_host": "AIRBNB_SMTP_HOST",
        "smtp_port": "AIRBNB_SMTP_PORT",
        "smtp_user": "AIRBNB_SMTP_USER",
        "smtp_password": "AIRBNB_SMTP_PASSWORD",
        "email_from": "AIRBNB_ALERT_EMAIL_FROM",
        "email_to": "AIRBNB_ALERT_EMAIL_TO",
    }
    SECRETS: ClassVar[tuple[str, ...]] = ("smtp_password",)
    REQUIRED: ClassVar[tuple[str, ...]] = ("smtp_host", "email_from", "email_to")

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, description="Secret: SMTP password.")
    smtp_use_tls: bool = Field(default=True, description="STARTTLS (implicit TLS on port 465).")
    email_from: str | None = None
    email_to: str | None = Field(default=None, description="Comma-separated recipients.")

    def recipients(self) -> list[str]:
        """The ``email_to`` addresses (comma- or semicolon-separated, blanks dropped)."""
        return [a.strip() for a in re.split(r"[,;]", self.setting("email_to") or "") if a.strip()]

    def _missing(self) -> list[str]:
        missing = super()._missing()
        if self.setting("email_to") and not self.recipients():
            missing.append("email_to")
        if self.setting("smtp_user") and not self.setting("smtp_password"):
            missing.append("smtp_password")
        return missing

    def metadata(self) -> dict[str, str]:
        """How many recipients (not who)."""
        return {"alert_recipients": str(len(self.recipients()))}

    def deliver(self, payload: dict) -> None:
        """Send the alert as a plain-text e-mail."""
        send_email(
            payload,
            host=self.setting("smtp_host"),
            port=int(self.setting("smtp_port") or 587),
            sender=self.setting("email_from"),
            recipients=self.recipients(),
            user=self.setting("smtp_user"),
            password=self.setting("smtp_password"),
            use_tls=bool(self.smtp_use_tls),
            timeout=float(self.timeout_seconds),
        )


#: ``AIRBNB_ALERT_BACKEND`` value -> its channel class.
CHANNELS: dict[str, type[AlertChannel]] = {
    c.backend: c for c in (LogChannel, WebhookChannel, SlackChannel, TeamsChannel, EmailChannel)
}
