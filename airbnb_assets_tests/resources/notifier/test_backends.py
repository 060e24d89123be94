"""The notifier against real local servers: HTTP (webhook, Teams, Slack Web API) and SMTP (aiosmtpd).

Every server listens on 127.0.0.1 on a free port, runs in a daemon thread and is stopped by the
test that started it; sockets time out after a few seconds so nothing can hang.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import socket
import ssl
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import dagster as dg
import numpy as np
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from airbnb_assets.environments import Env, notifier_resource, settings_for
from airbnb_assets.resources.notifier.formats import subject_line, teams_card
from airbnb_assets.resources.notifier.resource import (
    ENV_VARS,
    Alert,
    AlertDeliveryError,
    NotifierConfigError,
    NotifierResource,
)

WEBHOOK_SECRET = "s3cr3t-webhook-T0KEN"
TEAMS_SECRET = "s3cr3t-teams-SIG"
SLACK_TOKEN = "xoxb-s3cr3t-slack-token"
SMTP_PASSWORD = "s3cr3t-smtp-pw"
SECRETS = (WEBHOOK_SECRET, TEAMS_SECRET, SLACK_TOKEN, SMTP_PASSWORD)


# ------------------------------------------------------------------------------------ servers


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold a handler thread for longer

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        server: _RecordingServer = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.received.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        answer = server.answer_body
        self.send_response(server.answer_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output quiet."""


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer_status = status
        self.answer_body = body
        self.received: list[dict[str, Any]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def http_server(status: int = 200, body: bytes = b"{}") -> Iterator[_RecordingServer]:
    """A local HTTP server recording POSTs and answering ``status``/``body``; stopped on exit."""
    server = _RecordingServer(status, body)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
    recorder = _MailRecorder()
    controller = _EphemeralController(recorder, hostname="127.0.0.1", port=0, ready_timeout=5, **smtp_kwargs)
    controller.start()
    try:
        yield controller, recorder
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


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture
def alert() -> Alert:
    return Alert(
        kind="data_drift",
        env="prod",
        title="Data drift in gold/listing_features",
        summary="3 of 12 columns drifted: price, accommodates, review_scores_rating.",
        details={
            "drifted_columns": {
                "price": 0.41,
                "accommodates": np.float64(0.22),
                "review_scores_rating": 0.18,
            },
            "share_drifted": 0.25,
            "rows": np.int64(4021),
        },
        report_url="file:///tmp/lakehouse/prod/_monitoring/drift_2017-03-02.html",
        run_date="2017-03-02",
    )


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "monitoring" / "alerts" / "alerts.jsonl"


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def assert_clean_error(exc: BaseException, *also_absent: str) -> None:
    """No secret or URL in the message, the repr or the printed traceback; no chained exception."""
    printed = "".join(traceback.format_exception(exc))
    assert_no_secret(str(exc), repr(exc), printed)
    for text in also_absent:
        assert text not in printed
    assert exc.__cause__ is None and exc.__context__ is None


# ------------------------------------------------------------------------------------ payload + log


def test_payload_is_plain_json(alert: Alert) -> None:
    payload = alert.to_payload()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert payload["details"]["drifted_columns"]["accommodates"] == pytest.approx(0.22)
    assert type(payload["details"]["rows"]) is int
    nan = Alert("model_drift", "dev", "t", "s", {"rmse": float("nan"), "at": dt.date(2017, 3, 2)})
    assert nan.to_payload()["details"] == {"rmse": None, "at": "2017-03-02"}
    with pytest.raises(TypeError, match="object"):
        Alert("model_drift", "dev", "t", "s", {"x": object()}).to_payload()


def test_heading_does_not_double_the_env_prefix() -> None:
    assert subject_line({"env": "prod", "title": "Drift"}) == "[PROD] Drift"
    assert subject_line({"env": "prod", "title": "[prod] Drift"}) == "[prod] Drift"


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


def test_webhook_posts_the_exact_payload(alert: Alert, log_path: Path) -> None:
    with http_server(200, b"ok") as server:
        url = f"{server.base}/hooks/{WEBHOOK_SECRET}"
        NotifierResource(backend="webhook", webhook_url=url, log_path=str(log_path)).send(alert)
    (request,) = server.received
    assert request["path"] == f"/hooks/{WEBHOOK_SECRET}"
    assert request["headers"]["content-type"] == "application/json"
    body = json.loads(request["body"])
    assert body == alert.to_payload()
    assert body["title"] == alert.title and body["summary"] == alert.summary
    assert body["report_url"] == alert.report_url and (body["env"], body["kind"]) == ("prod", "data_drift")
    assert body["details"]["drifted_columns"]["price"] == 0.41
    (line,) = log_lines(log_path)
    assert line["backend"] == "webhook" and line["delivered"] is True
    assert_no_secret(log_path.read_text())


def test_webhook_http_error_is_reported_without_the_url(alert: Alert, log_path: Path) -> None:
    with http_server(500, b"boom") as server:
        url = f"{server.base}/hooks/{WEBHOOK_SECRET}"
        notifier = NotifierResource(backend="webhook", webhook_url=url, log_path=str(log_path))
        with pytest.raises(AlertDeliveryError) as info:
            notifier.send(alert)
    assert str(info.value) == "webhook delivery failed: HTTP 500"
    assert_clean_error(info.value, url, server.base)
    (line,) = log_lines(log_path)
    assert line["title"] == alert.title and line["delivered"] is False
    assert line["error"] == "webhook delivery failed: HTTP 500"
    assert_no_secret(log_path.read_text())


def test_webhook_unreachable_is_reported_without_the_url(alert: Alert, log_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks/{WEBHOOK_SECRET}"
    notifier = NotifierResource(backend="webhook", webhook_url=url, log_path=str(log_path), timeout_seconds=2)
    with pytest.raises(AlertDeliveryError, match=r"^webhook delivery failed: ConnectionError$") as info:
        notifier.send(alert)
    assert_clean_error(info.value, url)


# ------------------------------------------------------------------------------------ Teams


def test_msteams_posts_a_card_with_title_and_summary(alert: Alert, log_path: Path) -> None:
    with http_server(202, b"") as server:
        url = f"{server.base}/workflows/triggers/manual/paths/invoke?sig={TEAMS_SECRET}"
        NotifierResource(backend="msteams", teams_webhook_url=url, log_path=str(log_path)).send(alert)
    (request,) = server.received
    assert request["headers"]["content-type"] == "application/json"
    card = json.loads(request["body"])
    (attachment,) = card["attachments"]
    assert card["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in attachment["content"]["body"]]
    assert any(alert.title in text for text in texts)
    assert alert.summary in texts
    assert any("price" in text for text in texts) and any(str(alert.report_url) in text for text in texts)
    assert log_lines(log_path)[0]["backend"] == "msteams"


def test_msteams_rejection_is_reported_without_the_url(alert: Alert, log_path: Path) -> None:
    with http_server(400, b"Bad payload") as server:
        url = f"{server.base}/workflows/invoke?sig={TEAMS_SECRET}"
        notifier = NotifierResource(backend="msteams", teams_webhook_url=url, log_path=str(log_path))
        with pytest.raises(
            AlertDeliveryError, match="^msteams delivery failed: rejected by the webhook$"
        ) as info:
            notifier.send(alert)
    assert_clean_error(info.value, url)


def test_msteams_legacy_connector_card(alert: Alert) -> None:
    # Format only: a *.webhook.office.com host cannot be served locally without DNS or a proxy.
    card = teams_card(alert.to_payload(), legacy=True)
    (attachment,) = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.hero"
    assert alert.title in attachment["content"]["text"] and alert.summary in attachment["content"]["text"]


# ------------------------------------------------------------------------------------ Slack


def test_slack_posts_channel_and_text_with_token_only_in_header(alert: Alert, log_path: Path) -> None:
    answer = json.dumps({"ok": True, "channel": "C0123", "ts": "1488460800.000100"}).encode()
    with http_server(200, answer) as server:
        notifier = NotifierResource(
            backend="slack",
            slack_token=SLACK_TOKEN,
            slack_channel="#airbnb-drift",
            slack_base_url=f"{server.base}/api",
            log_path=str(log_path),
        )
        notifier.send(alert)
    (request,) = server.received
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert request["headers"]["content-type"].startswith("application/json")
    assert SLACK_TOKEN not in request["path"] and SLACK_TOKEN.encode() not in request["body"]
    others = {k: v for k, v in request["headers"].items() if k != "authorization"}
    assert SLACK_TOKEN not in json.dumps(others)
    body = json.loads(request["body"])
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
    alert: Alert, log_path: Path, status: int | None, answer: bytes, expected: str
) -> None:
    with http_server(status or 200, answer) as server:
        base = server.base if status else f"http://127.0.0.1:{closed_port()}"
        notifier = NotifierResource(
            backend="slack",
            slack_token=SLACK_TOKEN,
            slack_channel="#nope",
            slack_base_url=base,
            log_path=str(log_path),
            timeout_seconds=2,
        )
        with pytest.raises(AlertDeliveryError) as info:
            notifier.send(alert)
    assert str(info.value) == f"slack delivery failed: {expected}"
    assert_clean_error(info.value)


# ------------------------------------------------------------------------------------ e-mail


def test_email_plain_smtp(alert: Alert, log_path: Path) -> None:
    with smtp_server() as (controller, recorder):
        NotifierResource(
            backend="email",
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_use_tls=False,
            email_from="dagster@airbnb.example",
            email_to="ops@airbnb.example, ml@airbnb.example",
            log_path=str(log_path),
        ).send(alert)
    (envelope,) = recorder.envelopes
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
        recorder,
    ):
        settings: dict[str, Any] = {
            "backend": "email",
            "smtp_host": "127.0.0.1",
            "smtp_port": controller.port,
            "smtp_user": "dagster",
            "email_from": "dagster@airbnb.example",
            "email_to": "ops@airbnb.example",
            "log_path": str(log_path),
        }
        NotifierResource(**settings, smtp_password=SMTP_PASSWORD).send(alert)
        with pytest.raises(AlertDeliveryError) as info:
            NotifierResource(**settings, smtp_password=SMTP_PASSWORD + "-wrong").send(alert)
    (envelope,) = recorder.envelopes
    assert envelope.rcpt_tos == ["ops@airbnb.example"]
    (session,) = recorder.sessions
    assert session.authenticated and session.ssl is not None  # logged in over the STARTTLS channel
    assert str(info.value) == "email delivery failed: SMTPAuthenticationError (SMTP 535)"
    assert_clean_error(info.value)
    assert [line["delivered"] for line in log_lines(log_path)] == [True, False]


# ------------------------------------------------------------------------------------ settings + secrets


@pytest.mark.parametrize(
    ("settings", "missing", "absent"),
    [
        ({"backend": "webhook"}, ["webhook_url (AIRBNB_ALERT_WEBHOOK_URL)"], []),
        ({"backend": "slack", "slack_token": SLACK_TOKEN}, ["slack_channel (AIRBNB_SLACK_CHANNEL)"], []),
        ({"backend": "slack", "slack_channel": "#x"}, ["slack_token"], ["slack_channel"]),
        ({"backend": "msteams"}, ["teams_webhook_url"], []),
        (
            {"backend": "email", "smtp_host": "smtp.example", "smtp_user": "u", "email_to": " , "},
            ["email_from", "email_to", "smtp_password (AIRBNB_SMTP_PASSWORD)"],
            ["smtp_host"],
        ),
    ],
)
def test_missing_settings_are_named(
    alert: Alert, log_path: Path, settings: dict, missing: list[str], absent: list[str]
) -> None:
    notifier = NotifierResource(log_path=str(log_path), **settings)
    with pytest.raises(NotifierConfigError) as info:
        notifier.send(alert)
    message = str(info.value)
    assert all(name in message for name in missing), message
    assert not any(name in message for name in absent), message
    assert_no_secret(message)
    (line,) = log_lines(log_path)  # the audit trail still has the alert
    assert line["delivered"] is False and line["error"] == message


def test_unknown_backend_and_bad_url(alert: Alert, log_path: Path) -> None:
    with pytest.raises(
        NotifierConfigError, match="unknown alert backend 'pager'; expected one of log, webhook"
    ):
        NotifierResource(backend="pager", log_path=str(log_path)).check_settings()
    bad = NotifierResource(backend="webhook", webhook_url=f"hooks/{WEBHOOK_SECRET}", log_path=str(log_path))
    with pytest.raises(NotifierConfigError, match="webhook_url must be an http") as info:
        bad.send(alert)
    assert_clean_error(info.value)


def test_secrets_never_in_repr_str_or_metadata(alert: Alert, log_path: Path) -> None:
    notifier = NotifierResource(
        backend="email",
        log_path=str(log_path),
        webhook_url=f"https://hooks.example/{WEBHOOK_SECRET}",
        slack_token=SLACK_TOKEN,
        slack_channel="#drift",
        teams_webhook_url=f"https://teams.example/?sig={TEAMS_SECRET}",
        smtp_host="smtp.example",
        smtp_user="dagster",
        smtp_password=SMTP_PASSWORD,
        email_from="a@example",
        email_to="b@example",
    )
    assert_no_secret(repr(notifier), str(notifier), json.dumps(notifier.delivery_metadata()))
    assert "slack_token='***'" in repr(notifier) and "slack_channel='#drift'" in repr(notifier)
    assert notifier.delivery_metadata() == {
        "alert_backend": "email",
        "alert_log_path": str(log_path),
        "alert_recipients": "1",
    }
    assert_no_secret(repr(alert), str(alert))
    with_env_vars = NotifierResource(log_path=str(log_path), slack_token=dg.EnvVar("AIRBNB_SLACK_TOKEN"))
    assert "slack_token=\"EnvVar('AIRBNB_SLACK_TOKEN')\"" in repr(with_env_vars)


def test_environment_notifier_resolves_env_vars_outside_a_run(
    alert: Alert, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
    with http_server(200, answer) as server:
        monkeypatch.setenv(ENV_VARS["backend"], "slack")
        monkeypatch.setenv(ENV_VARS["slack_token"], SLACK_TOKEN)
        monkeypatch.setenv(ENV_VARS["slack_channel"], "#from-env")
        monkeypatch.setenv(ENV_VARS["smtp_port"], "2525")
        settings = settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": str(log_path.parent)})
        notifier = notifier_resource(settings)
        assert isinstance(notifier.slack_token, dg.EnvVar)
        assert_no_secret(repr(notifier))
        notifier = notifier.model_copy(update={"slack_base_url": server.base})
        notifier.check_settings()
        notifier.send(alert)
    (request,) = server.received
    assert request["headers"]["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert json.loads(request["body"])["channel"] == "#from-env"


def test_inside_dagster_run_no_secret_reaches_events_or_errors(
    alert: Alert, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dg.asset
    def drift_alert(
        context, notifier: NotifierResource
    ) -> None:  # no context annotation: Dagster rejects a postponed one
        context.log.info(f"notifier: {notifier!r}")
        context.add_output_metadata(notifier.delivery_metadata())
        notifier.send(alert)

    for status, should_succeed in ((204, True), (500, False)):
        with http_server(status, b"") as server:
            monkeypatch.setenv("AIRBNB_ALERT_WEBHOOK_URL", f"{server.base}/hooks/{WEBHOOK_SECRET}")
            notifier = NotifierResource(
                backend="webhook", webhook_url=dg.EnvVar("AIRBNB_ALERT_WEBHOOK_URL"), log_path=str(log_path)
            )
            instance = dg.DagsterInstance.ephemeral()
            result = dg.materialize(
                [drift_alert], resources={"notifier": notifier}, instance=instance, raise_on_error=False
            )
        assert result.success is should_succeed
        assert len(server.received) == 1
        # Every record of the run: user log lines (incl. the repr), events, metadata, error reports.
        records = [str(entry) for entry in instance.all_logs(result.run_id)]
        assert any("notifier: NotifierResource(backend='webhook'" in record for record in records)
        assert_no_secret(*records, json.dumps(result.dagster_run.run_config, default=str))
        if not should_succeed:
            assert any("webhook delivery failed: HTTP 500" in record for record in records)
