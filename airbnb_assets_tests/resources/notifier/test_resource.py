"""The notifier resource: settings named when missing, secrets never shown, inside and outside a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from airbnb_assets.environments import Env, notifier_resource, settings_for
from airbnb_assets.resources.notifier.resource import (
    Alert,
    EmailChannel,
    NotifierConfigError,
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


@pytest.mark.parametrize(
    ("channel", "missing", "absent"),
    [
        (WebhookChannel(), ["'webhook' is missing", "webhook_url (AIRBNB_ALERT_WEBHOOK_URL)"], []),
        (SlackChannel(slack_token=SLACK_TOKEN), ["slack_channel (AIRBNB_SLACK_CHANNEL)"], []),
        (SlackChannel(slack_channel="#x"), ["slack_token"], ["slack_channel"]),
        (TeamsChannel(), ["teams_webhook_url"], []),
        (
            EmailChannel(smtp_host="smtp.example", smtp_user="u", email_to=" , "),
            ["email_from", "email_to", "smtp_password (AIRBNB_SMTP_PASSWORD)"],
            ["smtp_host"],
        ),
    ],
)
def test_missing_settings_are_named(
    alert: Alert, log_path: Path, channel: Any, missing: list[str], absent: list[str]
) -> None:
    notifier = NotifierResource(log_path=str(log_path), channel=channel)
    with pytest.raises(NotifierConfigError) as info:
        notifier.send(alert)
    message = str(info.value)
    assert all(name in message for name in missing), message
    assert not any(name in message for name in absent), message
    assert_no_secret(message)
    (line,) = log_lines(log_path)  # the audit trail still has the alert
    assert line["delivered"] is False and line["error"] == message


def test_unknown_backend_and_bad_url(alert: Alert, log_path: Path, tmp_path: Path) -> None:
    dev = settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": str(tmp_path)})
    with pytest.raises(
        ValueError, match="AIRBNB_ALERT_BACKEND='pager' is not one of: log, webhook, slack, msteams, email"
    ):
        notifier_resource(dev, {"AIRBNB_ALERT_BACKEND": "pager"})
    bad = NotifierResource(
        log_path=str(log_path), channel=WebhookChannel(webhook_url=f"hooks/{WEBHOOK_SECRET}")
    )
    with pytest.raises(NotifierConfigError, match="webhook_url must be an http") as info:
        bad.send(alert)
    assert_clean_error(info.value)


def test_secrets_never_in_repr_str_or_metadata(alert: Alert, log_path: Path) -> None:
    channels = [
        WebhookChannel(webhook_url=f"https://hooks.example/{WEBHOOK_SECRET}"),
        SlackChannel(slack_token=SLACK_TOKEN, slack_channel="#drift"),
        TeamsChannel(teams_webhook_url=f"https://teams.example/?sig={TEAMS_SECRET}"),
        EmailChannel(
            smtp_host="smtp.example",
            smtp_user="dagster",
            smtp_password=SMTP_PASSWORD,
            email_from="a@example",
            email_to="b@example",
        ),
    ]
    for channel in channels:
        notifier = NotifierResource(log_path=str(log_path), channel=channel)
        assert_no_secret(repr(notifier), str(notifier), json.dumps(notifier.delivery_metadata()))
        assert repr(notifier).count("'***'") == 1, repr(notifier)  # the channel's one secret, masked
    slack = NotifierResource(log_path=str(log_path), channel=channels[1])
    assert "slack_token='***'" in repr(slack) and "slack_channel='#drift'" in repr(slack)
    assert slack.delivery_metadata() == {
        "alert_backend": "slack",
        "alert_log_path": str(log_path),
        "alert_slack_channel": "#drift",
    }
    assert notifier.delivery_metadata() == {
        "alert_backend": "email",
        "alert_log_path": str(log_path),
        "alert_recipients": "1",
    }
    assert_no_secret(repr(alert), str(alert))
    with_env_vars = SlackChannel(slack_token=dg.EnvVar("AIRBNB_SLACK_TOKEN"))
    assert "slack_token=\"EnvVar('AIRBNB_SLACK_TOKEN')\"" in repr(with_env_vars)


def test_environment_notifier_resolves_env_vars_outside_a_run(
    alert: Alert, log_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    answer = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
    recorder.status, recorder.body = 200, answer
    monkeypatch.setenv("AIRBNB_ALERT_BACKEND", "slack")
    monkeypatch.setenv(SlackChannel.VARIABLES["slack_token"], SLACK_TOKEN)
    monkeypatch.setenv("AIRBNB_SLACK_CHANNEL", "#from-env")
    monkeypatch.setenv("AIRBNB_SMTP_PORT", "2525")  # another channel's: not read
    settings = settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": str(log_path.parent)})
    notifier = notifier_resource(settings)
    assert isinstance(notifier.channel, SlackChannel) and isinstance(notifier.channel.slack_token, dg.EnvVar)
    assert "smtp_port" not in repr(notifier)
    assert_no_secret(repr(notifier))
    channel = notifier.channel.model_copy(update={"slack_base_url": recorder.base})
    notifier = NotifierResource(log_path=notifier.log_path, channel=channel)
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
            log_path=str(log_path), channel=WebhookChannel(webhook_url=dg.EnvVar("AIRBNB_ALERT_WEBHOOK_URL"))
        )
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize(
            [drift_alert], resources={"notifier": notifier}, instance=instance, raise_on_error=False
        )
        assert result.success is should_succeed
        assert len(recorder.requests) == 1
        # Every record of the run: user log lines (incl. the repr), events, metadata, error reports.
        records = [str(entry) for entry in instance.all_logs(result.run_id)]
        assert any("notifier: NotifierResource(log_path=" in record for record in records)
        assert_no_secret(*records, json.dumps(result.dagster_run.run_config, default=str))
        if not should_succeed:
            assert any("webhook delivery failed: HTTP 500" in record for record in records)
