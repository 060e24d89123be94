"""Shared by the secrets and notifier tests: a running Key Vault stub that the real SDK trusts."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from airbnb_assets.resources.secrets import SecretsResource
from airbnb_assets_tests.resources.keyvault_stub import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    KeyVaultStub,
    keyvault_stub,
)
from airbnb_assets_tests.resources.notifier.conftest import WEBHOOK_SECRET

SLACK_VALUE = "xoxb-kv-s3cr3t-slack-VALUE"
SMTP_VALUE = "kv-s3cr3t-smtp-VALUE"
#: The stub vault's secrets (Key Vault names).
VAULT_SECRETS = {"airbnb-slack-token": SLACK_VALUE, "airbnb-smtp-password": SMTP_VALUE}
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
