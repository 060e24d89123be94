"""The secrets resource: env and Key Vault backends (a local HTTPS stub), the notifier on top, no leaks."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from airbnb_assets.environments import Env, notifier_resource, secrets_resource, settings_for
from airbnb_assets.resources.notifier.resource import Alert, NotifierConfigError, NotifierResource
from airbnb_assets.resources.secrets import (
    SecretNotFoundError,
    SecretsBackendError,
    SecretsResource,
    keyvault_name,
)
from airbnb_assets_tests.conftest import Recorder
from airbnb_assets_tests.resources.keyvault_stub import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    RESOURCE,
    TENANT_ID,
    KeyVaultStub,
    keyvault_stub,
)
from airbnb_assets_tests.resources.notifier import conftest as notifier_conftest
from airbnb_assets_tests.resources.notifier.conftest import WEBHOOK_SECRET, log_lines

SLACK_VALUE = "xoxb-kv-s3cr3t-slack-VALUE"
SMTP_VALUE = "kv-s3cr3t-smtp-VALUE"
VAULT_SECRETS = {"airbnb-slack-token": SLACK_VALUE, "airbnb-smtp-password": SMTP_VALUE}
# The notifier tests' fixtures, shared here (a fixture is found as a module attribute).
alert = notifier_conftest.alert
log_path = notifier_conftest.log_path

#: Nothing of these may appear in a message, a log line, metadata or a repr.
NEVER_SHOWN = (SLACK_VALUE, SMTP_VALUE, WEBHOOK_SECRET, CLIENT_SECRET, ACCESS_TOKEN)


def assert_nothing_secret(*texts: str) -> None:
    for text in texts:
        for secret in NEVER_SHOWN:
            assert secret not in text


def assert_clean(exc: BaseException) -> None:
    """No secret in the message, repr or printed traceback, and no chained exception."""
    assert_nothing_secret(str(exc), repr(exc), "".join(traceback.format_exception(exc)))
    assert exc.__cause__ is None and exc.__context__ is None


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyVaultStub]:
    """The stub, trusted through the CA bundle variables, and a service principal in the environment.

    ``AZURE_TOKEN_CREDENTIALS`` keeps ``DefaultAzureCredential`` to its ``EnvironmentCredential``
    (no managed-identity probe of a non-local address when the stub refuses a token).
    """
    with keyvault_stub(tmp_path, VAULT_SECRETS) as running:
        for name, value in {
            "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_CLIENT_SECRET": CLIENT_SECRET,
            "AZURE_TENANT_ID": TENANT_ID,
            "AZURE_AUTHORITY_HOST": running.base,
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
            "REQUESTS_CA_BUNDLE": str(running.ca_file),
            "SSL_CERT_FILE": str(running.ca_file),
        }.items():
            monkeypatch.setenv(name, value)
        yield running


def vault_resource(stub: KeyVaultStub, **overrides: object) -> SecretsResource:
    """The Key Vault backend pointed at the stub (a 127.0.0.1 vault: challenge domain check off)."""
    options: dict = {"verify_challenge_resource": False, "disable_instance_discovery": True, **overrides}
    return SecretsResource(backend="keyvault", vault_url=stub.base, **options)


@pytest.fixture
def vault(stub: KeyVaultStub) -> Iterator[SecretsResource]:
    resource = vault_resource(stub)
    yield resource
    resource.close()


# ---------------------------------------------------------------------------------- Key Vault


def test_keyvault_reads_a_secret_after_the_bearer_challenge(
    stub: KeyVaultStub, vault: SecretsResource
) -> None:
    assert vault.get("AIRBNB_SLACK_TOKEN") == SLACK_VALUE
    assert vault.get_optional("AIRBNB_SMTP_PASSWORD") == SMTP_VALUE
    first, *later = stub.seen("GET", "/secrets/")
    assert first.path.startswith("/secrets/airbnb-slack-token/?api-version=") and first.status == 401
    assert "authorization" not in first.headers
    assert [(r.path.split("?")[0], r.status, r.headers["authorization"]) for r in later] == [
        ("/secrets/airbnb-slack-token/", 200, f"Bearer {ACCESS_TOKEN}"),
        ("/secrets/airbnb-smtp-password/", 200, f"Bearer {ACCESS_TOKEN}"),
    ]
    # DefaultAzureCredential -> EnvironmentCredential: one client-credentials grant for the vault.
    (token,) = stub.seen("POST", f"/{TENANT_ID}/oauth2/v2.0/token")
    assert token.status == 200 and f"client_id={CLIENT_ID}" in token.body
    assert "grant_type=client_credentials" in token.body and "vault.azure.net%2F.default" in token.body


def test_keyvault_missing_secret_names_it_and_the_vault(stub: KeyVaultStub, vault: SecretsResource) -> None:
    assert vault.get("AIRBNB_SLACK_TOKEN") == SLACK_VALUE  # a value was read by this client before
    with pytest.raises(SecretNotFoundError) as info:
        vault.get("AIRBNB_TEAMS_WEBHOOK_URL")
    assert str(info.value) == (
        "secret AIRBNB_TEAMS_WEBHOOK_URL not found (secrets backend 'keyvault': "
        f"Key Vault secret 'airbnb-teams-webhook-url' in vault {stub.base})"
    )
    assert_clean(info.value)
    assert vault.get_optional("AIRBNB_TEAMS_WEBHOOK_URL") is None
    assert [r.status for r in stub.seen("GET", "/secrets/airbnb-teams-webhook-url/")] == [404, 404]


def test_keyvault_refused_credential_is_a_clean_backend_error(
    stub: KeyVaultStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-client-s3cr3t"
    monkeypatch.setenv("AZURE_CLIENT_SECRET", wrong)
    vault = vault_resource(stub)
    with pytest.raises(SecretsBackendError) as info:
        vault.get("AIRBNB_SLACK_TOKEN")
    vault.close()
    message = str(info.value)
    assert message.startswith("secret AIRBNB_SLACK_TOKEN could not be read (secrets backend 'keyvault'")
    assert stub.base in message and "ClientAuthenticationError" in message
    assert wrong not in "".join(traceback.format_exception(info.value))
    assert_clean(info.value)
    assert [r.status for r in stub.seen("POST", f"/{TENANT_ID}/")] == [401]
    assert all(r.status == 401 for r in stub.seen("GET", "/secrets/"))  # never got past the challenge


def test_challenge_resource_is_checked_by_default(stub: KeyVaultStub) -> None:
    """The safe default refuses a vault whose challenge names another domain (here: every stub)."""
    strict = vault_resource(stub, verify_challenge_resource=True)
    with pytest.raises(SecretsBackendError, match="challenge names another domain") as info:
        strict.get("AIRBNB_SLACK_TOKEN")
    strict.close()
    assert_clean(info.value)
    assert stub.seen("POST", "/") == []  # no token was asked for a foreign resource
    assert RESOURCE == "https://vault.azure.net"


def test_keyvault_names_and_misconfiguration() -> None:
    assert keyvault_name("AIRBNB_SLACK_TOKEN") == "airbnb-slack-token"
    assert keyvault_name("airbnb-alert-webhook-url") == "airbnb-alert-webhook-url"
    with pytest.raises(ValueError, match="valid Key Vault secret name"):
        keyvault_name("AIRBNB.SLACK TOKEN")
    with pytest.raises(SecretsBackendError, match="needs a vault_url"):
        SecretsResource(backend="keyvault").get("AIRBNB_SLACK_TOKEN")
    with pytest.raises(SecretsBackendError, match="unknown secrets backend 'vault'"):
        SecretsResource(backend="vault").get_optional("AIRBNB_SLACK_TOKEN")


# ---------------------------------------------------------------------------------- env


def test_env_backend_reads_the_variable_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = SecretsResource()
    monkeypatch.setenv("AIRBNB_SLACK_TOKEN", SLACK_VALUE)
    assert secrets.get("AIRBNB_SLACK_TOKEN") == SLACK_VALUE
    monkeypatch.setenv("AIRBNB_SLACK_TOKEN", "")  # empty counts as missing
    monkeypatch.delenv("AIRBNB_SMTP_PASSWORD", raising=False)
    for name in ("AIRBNB_SLACK_TOKEN", "AIRBNB_SMTP_PASSWORD"):
        assert secrets.get_optional(name) is None
        with pytest.raises(SecretNotFoundError) as info:
            secrets.get(name)
        assert str(info.value) == (
            f"secret {name} not found (secrets backend 'env': environment variable {name}, unset or empty)"
        )
        assert_clean(info.value)
    assert repr(secrets) == (
        "SecretsResource(backend='env', vault_url=None, verify_challenge_resource=True, "
        "disable_instance_discovery=False)"
    )


# ---------------------------------------------------------------------------------- environments


def test_environments_pick_the_backend(tmp_path: Path) -> None:
    url = "https://airbnb-prod.vault.azure.net/"
    env = {"AIRBNB_PROD_KEYVAULT_URL": url, "AIRBNB_TEST_KEYVAULT_URL": url, "AIRBNB_DEV_KEYVAULT_URL": url}
    dev = settings_for(Env.DEV, {"AIRBNB_LAKEHOUSE_ROOT": str(tmp_path)})
    prod, test = settings_for(Env.PROD, {}), settings_for(Env.TEST, {})
    assert secrets_resource(dev, env).backend == "env"
    assert (secrets_resource(prod, env).backend, secrets_resource(prod, env).vault_url) == ("keyvault", url)
    assert secrets_resource(test, {"AIRBNB_PROD_KEYVAULT_URL": url}).backend == "env"  # its own variable
    assert secrets_resource(prod, {**env, "DATABRICKS_RUNTIME_VERSION": "16.4"}).backend == "env"

    # With the vault, the notifier's secret fields stay unset (read from the vault), the rest as before.
    environ = {**env, "AIRBNB_SLACK_TOKEN": "from-env", "AIRBNB_SLACK_CHANNEL": "#drift"}
    notifier = notifier_resource(prod, environ)
    assert notifier.secrets.backend == "keyvault" and notifier.slack_token is None
    assert isinstance(notifier.slack_channel, dg.EnvVar)
    local = notifier_resource(dev, environ)
    assert local.secrets.backend == "env" and isinstance(local.slack_token, dg.EnvVar)


# ---------------------------------------------------------------------------------- notifier


def test_notifier_webhook_url_from_keyvault_never_shown(
    stub: KeyVaultStub,
    recorder: Recorder,
    alert: Alert,
    log_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = f"{recorder.base}/hooks/{WEBHOOK_SECRET}"
    stub.secrets["airbnb-alert-webhook-url"] = hook
    notifier = NotifierResource(backend="webhook", log_path=str(log_path), secrets=vault_resource(stub))

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
    assert any("notifier: NotifierResource(backend='webhook'" in r and "keyvault" in r for r in records)
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
    notifier = NotifierResource(
        backend="slack",
        slack_channel="#drift",
        slack_base_url=recorder.base,
        log_path=str(log_path),
        secrets=secrets,
    )
    notifier.send(alert)
    secrets.close()
    (request,) = recorder.requests
    assert request.headers["authorization"] == f"Bearer {SLACK_VALUE}"
    assert_nothing_secret(repr(notifier), json.dumps(notifier.delivery_metadata()))


def test_notifier_secret_missing_from_keyvault_is_named(
    stub: KeyVaultStub, recorder: Recorder, alert: Alert, log_path: Path
) -> None:
    secrets = vault_resource(stub)
    notifier = NotifierResource(backend="msteams", log_path=str(log_path), secrets=secrets)
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
        backend="slack", slack_channel="#drift", log_path=str(log_path), secrets=secrets
    )
    with pytest.raises(
        NotifierConfigError, match=r"^slack_token: secret AIRBNB_SLACK_TOKEN could not be read"
    ) as info:
        notifier.send(alert)
    secrets.close()
    assert_clean(info.value)
    (line,) = log_lines(log_path)
    assert line["delivered"] is False and "ClientAuthenticationError" in line["error"]
