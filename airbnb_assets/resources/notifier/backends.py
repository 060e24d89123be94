"""Delivery of one alert payload to webhook, Slack, Microsoft Teams or e-mail.

Called by the channels of :mod:`airbnb_assets.resources.notifier.channels`; every function here
works on the JSON payload of :meth:`~airbnb_assets.resources.notifier.alert.Alert.to_payload` and
receives its settings as arguments. Failures are raised as :class:`AlertDeliveryError` whose message names the
backend and the kind of failure only: never a URL (webhook URLs embed tokens), a token or a
password. Those errors are raised outside any ``except`` block, so they carry no chained exception
(``requests`` and ``urllib`` errors quote the URL) into tracebacks or Dagster's error reports.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from airbnb_assets.resources.notifier.alert import AlertDeliveryError
from airbnb_assets.resources.notifier.formats import email_message, slack_message, teams_card


def _failure_reason(exc: BaseException) -> str:
    """The class name of a transport error (its text may quote the URL, so it is not used)."""
    if isinstance(exc, requests.Timeout | TimeoutError):
        return f"timed out ({type(exc).__name__})"
    return type(exc).__name__


# --------------------------------------------------------------------------------------------
# webhook


def post_webhook(url: str, payload: Mapping[str, Any], timeout: float) -> None:
    """POST ``payload`` as JSON to ``url``; anything but a 2xx answer is a failure.

    Args:
        url: The webhook URL (a secret: it is never put into a message).
        payload: The alert payload, sent as is.
        timeout: Connect and read timeout in seconds.

    Raises:
        AlertDeliveryError: On a non-2xx status (redirects are not followed) or a transport error.
    """
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    failure: str | None = None
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        if not 200 <= response.status_code < 300:
            failure = f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        failure = _failure_reason(exc)
    if failure is not None:
        raise AlertDeliveryError(f"webhook delivery failed: {failure}")


# --------------------------------------------------------------------------------------------
# Slack


def post_slack(
    token: str, channel: str, payload: Mapping[str, Any], timeout: float, base_url: str | None = None
) -> None:
    """Post the alert to a Slack channel with ``dagster_slack.SlackResource``'s client.

    The token travels only in the ``Authorization`` header (``slack_sdk`` redacts it in its debug
    log). ``base_url`` replaces ``https://slack.com/api/`` (a test server or a proxy).

    Args:
        token: Bot token (``xoxb-…``).
        channel: Channel name or id.
        payload: The alert payload.
        timeout: Request timeout in seconds.
        base_url: Optional Slack Web API base URL.

    Raises:
        AlertDeliveryError: Slack answered ``ok: false`` (its error code is reported) or the
            request failed.
    """
    from dagster_slack import SlackResource
    from slack_sdk.errors import SlackApiError, SlackClientError

    client = SlackResource(token=token).get_client()
    if base_url:
        # SlackResource.get_client() takes no base_url; WebClient exposes it as a public attribute.
        client.base_url = base_url if base_url.endswith("/") else base_url + "/"
    client.timeout = max(1, round(timeout))
    text, blocks = slack_message(payload)
    failure: str | None = None
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as exc:
        code = str(exc.response.get("error") or "") if exc.response is not None else ""
        # Slack's error codes are snake_case words; anything else (an HTML error page) is not quoted.
        failure = code if re.fullmatch(r"[a-z_]{1,64}", code) else f"HTTP {exc.response.status_code}"
    except (SlackClientError, OSError) as exc:
        failure = _failure_reason(exc)
    if failure is not None:
        raise AlertDeliveryError(f"slack delivery failed: {failure}")


# --------------------------------------------------------------------------------------------
# Microsoft Teams


def post_msteams(hook_url: str, payload: Mapping[str, Any], timeout: float) -> None:
    """Post the alert card to a Teams incoming webhook with ``dagster_msteams.MSTeamsResource``.

    Args:
        hook_url: The incoming webhook URL (a secret).
        payload: The alert payload.
        timeout: Request timeout in seconds.

    Raises:
        AlertDeliveryError: The webhook rejected the card or could not be reached.
    """
    from dagster_msteams import MSTeamsResource

    client = MSTeamsResource(hook_url=hook_url, timeout=timeout).get_client()
    card = teams_card(payload, legacy=client.is_legacy_webhook())
    failure: str | None = None
    try:
        client.post_message(payload=card)
    except requests.RequestException as exc:
        # TeamsClient raises a bare RequestException (with the response body) for a non-2xx answer.
        failure = (
            "rejected by the webhook" if type(exc) is requests.RequestException else _failure_reason(exc)
        )
    if failure is not None:
        raise AlertDeliveryError(f"msteams delivery failed: {failure}")


# --------------------------------------------------------------------------------------------
# e-mail


def send_email(
    payload: Mapping[str, Any],
    *,
    host: str,
    port: int,
    sender: str,
    recipients: Sequence[str],
    user: str | None,
    password: str | None,
    use_tls: bool,
    timeout: float,
) -> None:
    """Send the alert by SMTP: implicit TLS on port 465, else STARTTLS when ``use_tls``.

    Args:
        payload: The alert payload.
        host: SMTP server.
        port: SMTP port.
        sender: ``From`` address.
        recipients: ``To`` addresses.
        user: Login name; no login when ``None``.
        password: Login password (a secret).
        use_tls: Encrypt the connection (certificate verified against the system trust store).
        timeout: Socket timeout in seconds.

    Raises:
        AlertDeliveryError: The server could not be reached, refused TLS, the login or a
            recipient (SMTP reply code reported, never the password).
    """
    message = email_message(payload, sender, recipients)
    failure: str | None = None
    try:
        smtp: smtplib.SMTP
        if use_tls and port == 465:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if use_tls and port != 465:
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, password or "")
            smtp.send_message(message, from_addr=sender, to_addrs=list(recipients))
    except smtplib.SMTPResponseException as exc:
        failure = f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    except (smtplib.SMTPException, OSError) as exc:
        failure = _failure_reason(exc)
    if failure is not None:
        raise AlertDeliveryError(f"email delivery failed: {failure}")
