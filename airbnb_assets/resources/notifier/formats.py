"""How an alert payload looks in Slack (Block Kit), Microsoft Teams (cards) and e-mail (plain text).

Every function takes the JSON payload of :meth:`~airbnb_assets.resources.notifier.resource.Alert.to_payload`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

#: Slack's limits on block texts (header 150, section 3000 characters).
_SLACK_HEADER_MAX = 150
_SLACK_SECTION_MAX = 3000
_DETAILS_MAX = 2800


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _details_json(payload: Mapping[str, Any], limit: int = _DETAILS_MAX) -> str:
    return _truncate(json.dumps(payload.get("details") or {}, indent=2, sort_keys=True), limit)


def _is_http(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def _context_line(payload: Mapping[str, Any]) -> str:
    parts = [
        f"env: {payload.get('env')}",
        f"kind: {payload.get('kind')}",
        f"severity: {payload.get('severity')}",
    ]
    if payload.get("run_date"):
        parts.append(f"run date: {payload['run_date']}")
    return " | ".join(parts)


def subject_line(payload: Mapping[str, Any]) -> str:
    """``[ENV] title``, without doubling a ``[env]`` prefix the title already has.

    Args:
        payload: The alert payload.

    Returns:
        The one-line heading used as Slack header, Teams card title and e-mail subject.
    """
    title = str(payload.get("title", ""))
    env = str(payload.get("env", "")).upper()
    if not env or title.upper().startswith(f"[{env}]"):
        return title
    return f"[{env}] {title}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and Block Kit blocks of an alert.

    Args:
        payload: The alert payload.

    Returns:
        ``(text, blocks)`` for ``chat.postMessage``; ``text`` is shown in notifications.
    """
    heading = subject_line(payload)
    summary = str(payload.get("summary", ""))
    text = f"{heading}: {summary}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _truncate(heading, _SLACK_HEADER_MAX)},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _truncate(_slack_escape(summary), _SLACK_SECTION_MAX)},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(_context_line(payload))}]},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "```" + _slack_escape(_details_json(payload)) + "```"},
        },
    ]
    report_url = payload.get("report_url")
    if report_url:
        link = f"<{report_url}|Open the drift report>" if _is_http(report_url) else f"Report: `{report_url}`"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    return _truncate(text, _SLACK_SECTION_MAX), blocks


def teams_card(payload: Mapping[str, Any], legacy: bool) -> dict[str, Any]:
    """The Teams message for an alert, built with ``dagster_msteams``' card classes.

    Args:
        payload: The alert payload.
        legacy: ``True`` for an Office 365 connector webhook (``*.webhook.office.com``, hero
            card with HTML), ``False`` for a Workflows webhook (Adaptive Card with Markdown).

    Returns:
        The JSON body to post.
    """
    from dagster_msteams.adaptive_card import AdaptiveCard
    from dagster_msteams.card import Card

    heading = subject_line(payload)
    details = _details_json(payload)
    report_url = payload.get("report_url")
    if legacy:
        lines = [f"<b>{heading}</b>", str(payload.get("summary", "")), _context_line(payload)]
        lines.append(f"<pre>{details}</pre>")
        if report_url:
            lines.append(f"<a href='{report_url}'>Open the drift report</a>")
        card = Card()
        card.add_attachment(text_message="<br>".join(lines))
        return card.payload
    adaptive = AdaptiveCard()
    adaptive.add_attachment(f"**{heading}**")
    adaptive.add_attachment(str(payload.get("summary", "")))
    adaptive.add_attachment(_context_line(payload))
    adaptive.add_attachment("Details:\n\n```\n" + details + "\n```")
    if report_url:
        adaptive.add_attachment(
            f"[Open the drift report]({report_url})" if _is_http(report_url) else f"Report: {report_url}"
        )
    return adaptive.payload


def email_message(payload: Mapping[str, Any], sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A plain-text e-mail with the summary, context, details and report link of an alert.

    Args:
        payload: The alert payload.
        sender: ``From`` address.
        recipients: ``To`` addresses.

    Returns:
        The message, ready for ``smtplib.SMTP.send_message``.
    """
    message = EmailMessage()
    message["Subject"] = subject_line(payload)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    lines = [str(payload.get("summary", "")), "", _context_line(payload), "", "Details:"]
    lines.append(json.dumps(payload.get("details") or {}, indent=2, sort_keys=True))
    if payload.get("report_url"):
        lines += ["", f"Report: {payload['report_url']}"]
    message.set_content("\n".join(lines) + "\n")
    return message
