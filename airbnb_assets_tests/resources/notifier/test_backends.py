"""Delivery by each backend against real local servers: the log file, HTTP (webhook, Teams, Slack
Web API, on the suite's recorder) and SMTP (aiosmtpd, plain and STARTTLS with login).

Every server listens on 127.0.0.1 on a free port, runs in a daemon thread and is stopped after
the test; sockets time out after a few seconds so nothing can hang.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from airbnb_assets.resources.notifier.resource import (
    Alert,
    AlertDeliveryError,
    EmailChannel,
    NotifierResource,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from airbnb_assets_tests.conftest import Recorder
from airbnb_assets_tests.resources.notifier.conftest import (
    SLACK_TOKEN,
    SMTP_PASSWORD,
    TEAMS_SECRET,
    WEBHOOK_SECRET,
    assert_clean_error,
    assert_no_secret,
    log_lines,
)

# ------------------------------------------------------------------------------------ servers


def closed_port() -> int:
    """A port on 127.0.0.1 with nobody listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _MailRecorder:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.sessions: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        self.sessions.append(session)
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """aiosmtpd's Controller bound to port 0; the real port is read before its readiness probe."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(**smtp_kwargs: Any) -> Iterator[tuple[_EphemeralController, _MailRecorder]]:
    """A local SMTP server on 127.0.0.1 recording every message; stopped on exit."""
    mail = _MailRecorder()
    controller = _EphemeralController(mail, hostname="127.0.0.1", port=0, ready_timeout=5, **smtp_kwargs)
    controller.start()
    try:
        yield controller, mail
    finally:
        controller.stop()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (EC key, one day) and its key, as PEM files."""
    pytest.importorskip("cryptography")
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


# ------------------------------------------------------------------------------------ log


def test_log_backend_appends_one_json_line_per_alert(alert: Alert, log_path: Path) -> None:
    notifier = NotifierResource(log_path=str(log_path))
    notifier.send(alert)
    notifier.send(Alert("drift_cleared", "prod", "Drift cleared", "No column drifted.", {}))
    lines = log_lines(log_path)
    assert len(lines) == 2
    assert {k: lines[0][k] for k in alert.to_payload()} == alert.to_payload()
    assert lines[0]["backend"] == "log" and lines[0]["delivered"] is True and lines[0]["error"] is None
    assert dt.datetime.fromisoformat(lines[0]["sent_at"]).tzinfo is not None
    assert lines[1]["kind"] == "drift_cleared"


# ------------------------------------------------------------------------------------ webhook


def test_webhook_posts_the_exact_payload(alert: Alert, log_path: Path, recorder: Recorder) -> None:
    recorder.status, recorder.body = 200, b"ok"
    url = f"{recorder.base}/hooks/{WEBHOOK_SECRET}"
    NotifierResource(log_path=str(log_path), channel=WebhookChannel(webhook_url=url)).send(alert)
    (request,) = recorder.requests
    assert request.path == f"/hooks/{WEBHOOK_SECRET}"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body == alert.to_payload()
    assert body["title"] == alert.title and body["summary"] == alert.summary
    assert body["report_url"] == alert.report_url and (body["env"], body["kind"]) == ("prod", "data_drift")
    assert body["details"]["drifted_columns"]["price"] == 0.41
    (line,) = log_lines(log_path)
    assert line["backend"] == "webhook" and line["delivered"] is True
    assert_no_secret(log_path.read_text())


def test_webhook_http_error_is_reported_without_the_url(
    alert: Alert, log_path: Path, recorder: Recorder
) -> None:
    recorder.status, recorder.body = 500, b"boom"
    url = f"{recorder.base}/hooks/{WEBHOOK_SECRET}"
    notifier = NotifierResource(log_path=str(log_path), channel=WebhookChannel(webhook_url=url))
    with pytest.raises(AlertDeliveryError) as info:
        notifier.send(alert)
    assert str(info.value) == "webhook delivery failed: HTTP 500"
    assert_clean_error(info.value, url, recorder.base)
    (line,) = log_lines(log_path)
    assert line["title"] == alert.title and line["delivered"] is False
    assert line["error"] == "webhook delivery failed: HTTP 500"
    assert_no_secret(log_path.read_text())


def test_webhook_unreachable_is_reported_without_the_url(alert: Alert, log_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks/{WEBHOOK_SECRET}"
    notifier = NotifierResource(
        log_path=str(log_path), channel=WebhookChannel(webhook_url=url, timeout_seconds=2)
    )
    with pytest.raises(AlertDeliveryError, match=r"^webhook delivery failed: ConnectionError$") as info:
        notifier.send(alert)
    assert_clean_error(info.value, url)


# ------------------------------------------------------------------------------------ Teams


def test_msteams_posts_a_card_with_title_and_summary(
    alert: Alert, log_path: Path, recorder: Recorder
) -> None:
    recorder.status, recorder.body = 202, b""
    url = f"{recorder.base}/workflows/triggers/manual/paths/invoke?sig={TEAMS_SECRET}"
    NotifierResource(log_path=str(log_path), channel=TeamsChannel(teams_webhook_url=url)).send(alert)
    (request,) = recorder.requests
    assert request.headers["content-type"] == "application/json"
    card = json.loads(request.body)
    (attachment,) = card["attachments"]
    assert card["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in attachment["content"]["body"]]
    assert any(alert.title in text for text in texts)
    assert alert.summary in texts
    assert any("price" in text for text in texts) and any(str(alert.report_url) in text for text in texts)
    assert log_lines(log_path)[0]["backend"] == "msteams"


def test_msteams_rejection_is_reported_without_the_url(
    alert: Alert, log_path: Path, recorder: Recorder
) -> None:
    recorder.status, recorder.body = 400, b"Bad payload"
    url = f"{recorder.base}/workflows/invoke?sig={TEAMS_SECRET}"
    notifier = NotifierResource(log_path=str(log_path), channel=TeamsChannel(teams_webhook_url=url))
    with pytest.raises(
        AlertDeliveryError, match="^msteams delivery failed: rejected by the webhook$"
    ) as info:
        notifier.send(alert)
    assert_clean_error(info.value, url)


# ------------------------------------------------------------------------------------ Slack


def test_slack_posts_channel_and_text_with_token_only_in_header(
    alert: Alert, log_path: Path, recorder: Recorder
) -> None:
    answer = json.dumps({"ok": True, "channel": "C0123", "ts": "1488460800.000100"}).encode()
    recorder.status, recorder.body = 200, answer
    channel = SlackChannel(
        slack_token=SLACK_TOKEN, slack_channel="#airbnb-drift", slack_base_url=f"{recorder.base}/api"
    )
    notifier = NotifierResource(log_path=str(log_path), channel=channel)
    notifier.send(alert)
    (request,) = recorder.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    assert SLACK_TOKEN not in request.path and SLACK_TOKEN.encode() not in request.body
    others = {k: v for k, v in request.headers.items() if k != "authorization"}
    assert SLACK_TOKEN not in json.dumps(others)
    body = json.loads(request.body)
    assert body["channel"] == "#airbnb-drift"
    assert alert.title in body["text"] and alert.summary in body["text"]
    assert body["blocks"][0]["type"] == "header" and alert.title in body["blocks"][0]["text"]["text"]
    assert log_lines(log_path)[0]["backend"] == "slack"


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (200, b'{"ok": false, "error": "channel_not_found"}', "channel_not_found"),
        (502, b"<html>Bad gateway for xoxb-s3cr3t-slack-token</html>", "HTTP 502"),
        (None, b"", "URLError"),
    ],
)
def test_slack_failures_name_the_cause_only(
    alert: Alert, log_path: Path, recorder: Recorder, status: int | None, answer: bytes, expected: str
) -> None:
    recorder.status, recorder.body = status or 200, answer
    base = recorder.base if status else f"http://127.0.0.1:{closed_port()}"
    channel = SlackChannel(
        slack_token=SLACK_TOKEN, slack_channel="#nope", slack_base_url=base, timeout_seconds=2
    )
    notifier = NotifierResource(log_path=str(log_path), channel=channel)
    with pytest.raises(AlertDeliveryError) as info:
        notifier.send(alert)
    assert str(info.value) == f"slack delivery failed: {expected}"
    assert_clean_error(info.value)
    assert len(recorder.requests) == (1 if status else 0)  # the answer, not a guess, named the cause


# ------------------------------------------------------------------------------------ e-mail


def test_email_plain_smtp(alert: Alert, log_path: Path) -> None:
    with smtp_server() as (controller, mail):
        channel = EmailChannel(
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_use_tls=False,
            email_from="dagster@airbnb.example",
            email_to="ops@airbnb.example, ml@airbnb.example",
        )
        NotifierResource(log_path=str(log_path), channel=channel).send(alert)
    (envelope,) = mail.envelopes
    assert envelope.mail_from == "dagster@airbnb.example"
    assert envelope.rcpt_tos == ["ops@airbnb.example", "ml@airbnb.example"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Subject"] == f"[PROD] {alert.title}"
    assert message["To"] == "ops@airbnb.example, ml@airbnb.example"
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert alert.summary in body and '"price": 0.41' in body and f"Report: {alert.report_url}" in body
    assert log_lines(log_path)[0]["backend"] == "email"


def test_email_starttls_and_login(
    alert: Alert, log_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_cert(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the throw-away certificate

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"dagster",
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    with smtp_server(tls_context=server_tls, require_starttls=True, authenticator=authenticate) as (
        controller,
        mail,
    ):
        settings: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": controller.port,
            "smtp_user": "dagster",
            "email_from": "dagster@airbnb.example",
            "email_to": "ops@airbnb.example",
        }
        right = EmailChannel(**settings, smtp_password=SMTP_PASSWORD)
        NotifierResource(log_path=str(log_path), channel=right).send(alert)
        wrong = EmailChannel(**settings, smtp_password=SMTP_PASSWORD + "-wrong")
        with pytest.raises(AlertDeliveryError) as info:
            NotifierResource(log_path=str(log_path), channel=wrong).send(alert)
    (envelope,) = mail.envelopes
    assert envelope.rcpt_tos == ["ops@airbnb.example"]
    (session,) = mail.sessions
    assert session.authenticated and session.ssl is not None  # logged in over the STARTTLS channel
    assert str(info.value) == "email delivery failed: SMTPAuthenticationError (SMTP 535)"
    assert_clean_error(info.value)
    assert [line["delivered"] for line in log_lines(log_path)] == [True, False]
