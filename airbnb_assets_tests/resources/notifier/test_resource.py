"""The notifier resource: settings named when missing, secrets never shown, inside and outside a run."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from airbnb_assets.environments import Env, notifier_resource, settings_for
from airbnb_assets.resources.notifier.resource import ENV_VARS, Alert, NotifierConfigError, NotifierResource
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
    alert: Alert, log_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    answer = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
    recorder.status, recorder.body = 200, answer
    monkeypatch.setenv(ENV_VARS["backend"], "slack")
    monkeypatch.setenv(ENV_VARS["slack_token"], SLACK_TOKEN)
    monkeypatch.setenv(ENV_VARS["slack_channel"], "#from-env")
    monkeypatch.setenv(ENV_VARS["smtp_port"], "2525")
    settings = settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": str(log_path.parent)})
    notifier = notifier_resource(settings)
    assert isinstance(notifier.slack_token, dg.EnvVar)
    assert_no_secret(repr(notifier))
    notifier = notifier.model_copy(update={"slack_base_url": recorder.base})
    notifier.check_settings()
    notifier.send(alert)
    (request,) = recorder.requests
    assert request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert json.loads(request.body)["channel"] == "#from-env"


def test_inside_dagster_run_no_secret_reaches_events_or_errors(
    alert: Alert, log_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    @dg.asset
    def drift_alert(
        context, notifier: NotifierResource
    ) -> None:  # no context annotation: Dagster rejects a postponed one
        context.log.info(f"notifier: {notifier!r}")
        context.add_output_metadata(notifier.delivery_metadata())
        notifier.send(alert)

    for status, should_succeed in ((204, True), (500, False)):
        recorder.status, recorder.body = status, b""
        recorder.requests.clear()
        monkeypatch.setenv("AIRBNB_ALERT_WEBHOOK_URL", f"{recorder.base}/hooks/{WEBHOOK_SECRET}")
        notifier = NotifierResource(
            backend="webhook", webhook_url=dg.EnvVar("AIRBNB_ALERT_WEBHOOK_URL"), log_path=str(log_path)
        )
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize(
            [drift_alert], resources={"notifier": notifier}, instance=instance, raise_on_error=False
        )
        assert result.success is should_succeed
        assert len(recorder.requests) == 1
        # Every record of the run: user log lines (incl. the repr), events, metadata, error reports.
        records = [str(entry) for entry in instance.all_logs(result.run_id)]
        assert any("notifier: NotifierResource(backend='webhook'" in record for record in records)
        assert_no_secret(*records, json.dumps(result.dagster_run.run_config, default=str))
        if not should_succeed:
            assert any("webhook delivery failed: HTTP 500" in record for record in records)
