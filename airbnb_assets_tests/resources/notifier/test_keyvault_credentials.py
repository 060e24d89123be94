"""The notifier's credentials from Azure Key Vault (the local HTTPS stub): delivered, never shown."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dagster as dg
import pytest

from airbnb_assets.resources.notifier.resource import (
    Alert,
    NotifierConfigError,
    NotifierResource,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from airbnb_assets_tests.conftest import Recorder
from airbnb_assets_tests.resources.conftest import (
    SLACK_VALUE,
    assert_clean,
    assert_nothing_secret,
    vault_resource,
)
from airbnb_assets_tests.resources.keyvault_stub import ACCESS_TOKEN, KeyVaultStub
from airbnb_assets_tests.resources.notifier.conftest import WEBHOOK_SECRET, log_lines


def test_notifier_webhook_url_from_keyvault_never_shown(
    stub: KeyVaultStub,
    recorder: Recorder,
    alert: Alert,
    log_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = f"{recorder.base}/hooks/{WEBHOOK_SECRET}"
    stub.secrets["airbnb-alert-webhook-url"] = hook
    notifier = NotifierResource(log_path=str(log_path), channel=WebhookChannel(secrets=vault_resource(stub)))

    @dg.asset
    def drift_alert(context, notifier: NotifierResource) -> None:  # type: ignore[no-untyped-def]
        context.log.info(f"notifier: {notifier!r}")
        context.add_output_metadata(notifier.delivery_metadata())
        notifier.send(alert)

    caplog.set_level(logging.DEBUG)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([drift_alert], resources={"notifier": notifier}, instance=instance)
    assert result.success
    (request,) = recorder.requests
    assert request.path == f"/hooks/{WEBHOOK_SECRET}" and request.json()["title"] == alert.title
    assert any(r.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}" for r in stub.requests)

    records = [str(entry) for entry in instance.all_logs(result.run_id)]
    # Every captured log record (Dagster, azure-core, azure-identity, MSAL, this package) but
    # urllib3's DEBUG request lines: those quote the webhook URL's path, which holds its token
    # (the webhook backend's transport, not the secrets resource; off unless urllib3 logs DEBUG).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert {"dagster.builtin", "azure.core.pipeline.policies.http_logging_policy"} <= {
        r.name for r in caplog.records
    }
    assert any("channel=WebhookChannel(" in r and "keyvault" in r for r in records)
    assert any("secret AIRBNB_ALERT_WEBHOOK_URL read" in r for r in caplog.messages)  # logs were captured
    (line,) = log_lines(log_path)
    assert line["delivered"] is True
    metadata = result.asset_materializations_for_node("drift_alert")[0].metadata
    assert_nothing_secret(
        repr(notifier),
        str(notifier),
        logged,
        *records,
        json.dumps(notifier.delivery_metadata()),
        json.dumps({k: str(v) for k, v in metadata.items()}),
        json.dumps(result.dagster_run.run_config, default=str),
        log_path.read_text(encoding="utf-8"),
    )


def test_notifier_slack_token_from_keyvault(
    stub: KeyVaultStub, recorder: Recorder, alert: Alert, log_path: Path
) -> None:
    recorder.status, recorder.body = 200, b'{"ok": true, "channel": "C1", "ts": "1.0"}'
    secrets = vault_resource(stub)
    channel = SlackChannel(slack_channel="#drift", slack_base_url=recorder.base, secrets=secrets)
    notifier = NotifierResource(log_path=str(log_path), channel=channel)
    notifier.send(alert)
    secrets.close()
    (request,) = recorder.requests
    assert request.headers["authorization"] == f"Bearer {SLACK_VALUE}"
    assert_nothing_secret(repr(notifier), json.dumps(notifier.delivery_metadata()))


def test_notifier_secret_missing_from_keyvault_is_named(
    stub: KeyVaultStub, recorder: Recorder, alert: Alert, log_path: Path
) -> None:
    secrets = vault_resource(stub)
    notifier = NotifierResource(log_path=str(log_path), channel=TeamsChannel(secrets=secrets))
    with pytest.raises(NotifierConfigError) as info:
        notifier.send(alert)
    secrets.close()
    assert str(info.value) == (
        "alert backend 'msteams' is missing setting(s): teams_webhook_url (AIRBNB_TEAMS_WEBHOOK_URL; "
        f"Key Vault secret 'airbnb-teams-webhook-url' in vault {stub.base})"
    )
    assert_clean(info.value)
    assert recorder.requests == []
    (line,) = log_lines(log_path)  # the audit trail still has the alert
    assert line["delivered"] is False and line["error"] == str(info.value)


def test_notifier_vault_failure_is_a_config_error_in_the_audit_trail(
    stub: KeyVaultStub, alert: Alert, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong")
    secrets = vault_resource(stub)
    notifier = NotifierResource(
        log_path=str(log_path), channel=SlackChannel(slack_channel="#drift", secrets=secrets)
    )
    with pytest.raises(
        NotifierConfigError, match=r"^slack_token: secret AIRBNB_SLACK_TOKEN could not be read"
    ) as info:
        notifier.send(alert)
    secrets.close()
    assert_clean(info.value)
    (line,) = log_lines(log_path)
    assert line["delivered"] is False and "ClientAuthenticationError" in line["error"]
