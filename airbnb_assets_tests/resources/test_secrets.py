"""The secrets resource: env and Key Vault backends (a local HTTPS stub), chosen per environment."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from airbnb_assets.environments import Env, notifier_resource, secrets_resource, settings_for
from airbnb_assets.resources.notifier.resource import SlackChannel
from airbnb_assets.resources.secrets import (
    SecretNotFoundError,
    SecretsBackendError,
    SecretsResource,
    keyvault_name,
)
from airbnb_assets_tests.resources.conftest import SLACK_VALUE, SMTP_VALUE, assert_clean, vault_resource
from airbnb_assets_tests.resources.keyvault_stub import (
    ACCESS_TOKEN,
    CLIENT_ID,
    RESOURCE,
    TENANT_ID,
    KeyVaultStub,
)


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
    environ["AIRBNB_ALERT_BACKEND"] = "slack"
    slack = notifier_resource(prod, environ).channel
    assert isinstance(slack, SlackChannel)
    assert slack.secrets.backend == "keyvault" and slack.slack_token is None
    assert isinstance(slack.slack_channel, dg.EnvVar)
    local = notifier_resource(dev, environ).channel
    assert isinstance(local, SlackChannel)
    assert local.secrets.backend == "env" and isinstance(local.slack_token, dg.EnvVar)
