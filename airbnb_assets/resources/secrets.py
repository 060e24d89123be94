"""One secrets resource, two backends here and a third on the Databricks cluster.

:class:`SecretsResource` reads a secret by its environment-variable style name (for example
``AIRBNB_SLACK_TOKEN``) from one backend:

``env``
    The process environment, read when the secret is asked for. Used in DEV and CI, and on a
    Databricks cluster: the job launcher hands the step a Key Vault-backed secret scope as
    environment variables of the same names (``secrets_to_env_variables``, read on the cluster
    with ``dbutils.secrets.get``), so a step on the cluster uses ``env`` too.
``keyvault``
    Azure Key Vault through ``azure-keyvault-secrets`` (``SecretClient``) and ``azure-identity``
    (``DefaultAzureCredential``: workload identity, managed identity or a service principal from
    ``AZURE_CLIENT_ID`` / ``AZURE_TENANT_ID`` / ``AZURE_CLIENT_SECRET``), wherever the code location
    itself runs (the sensor's notifier, for one: the Databricks secrets API refuses ``get`` outside
    a cluster). The name is mapped with :func:`keyvault_name`.

A secret that is not there raises :class:`SecretNotFoundError`, a backend that fails raises
:class:`SecretsBackendError`; both name the secret and where it was looked for, never a value,
and carry no chained exception. Values are never logged, and the resource's fields hold no
secret, so its ``repr()`` and the run config show none.
"""

from __future__ import annotations

import os
import re
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

__all__ = [
    "BACKENDS",
    "SecretNotFoundError",
    "SecretsBackendError",
    "SecretsError",
    "SecretsResource",
    "keyvault_name",
]

BACKENDS = ("env", "keyvault")
_KEYVAULT_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")


class SecretsError(RuntimeError):
    """A secret could not be read; the message names the secret and the backend, never a value."""


class SecretNotFoundError(SecretsError, KeyError):
    """The secret does not exist in (or is empty in) the configured backend."""

    def __str__(self) -> str:
        # KeyError quotes its argument; this message is meant to be read as it is.
        return str(self.args[0]) if self.args else ""


class SecretsBackendError(SecretsError):
    """The backend could not be asked (misconfigured, unreachable, access denied)."""


def keyvault_name(name: str) -> str:
    """The Key Vault secret name of an environment-variable style name.

    Key Vault names allow only letters, digits and ``-`` (1-127 characters, case-insensitive), so
    the name is lower-cased and ``_`` becomes ``-``: ``AIRBNB_SLACK_TOKEN`` is ``airbnb-slack-token``.

    Raises:
        ValueError: The mapped name is still not a valid Key Vault secret name.
    """
    mapped = name.strip().lower().replace("_", "-")
    if not _KEYVAULT_NAME.fullmatch(mapped):
        raise ValueError(f"{name!r} does not map to a valid Key Vault secret name (got {mapped!r})")
    return mapped


class SecretsResource(dg.ConfigurableResource):
    """Reads secrets by name from the environment (``env``) or Azure Key Vault (``keyvault``).

    The Key Vault client (``SecretClient`` with ``DefaultAzureCredential``) is built on first use.
    Values are read on every call (a rotated secret is picked up at once), never cached or logged.
    """

    backend: str = Field(default="env", description="env | keyvault")
    vault_url: str | None = Field(
        default=None, description="Key Vault URL (https://<vault>.vault.azure.net), for keyvault."
    )
    verify_challenge_resource: bool = Field(
        default=True,
        description="Check that the vault's authentication challenge names a resource in the vault's "
        "domain (the SDK's default). Only a vault on a non-Azure host (a test stub) needs False.",
    )
    disable_instance_discovery: bool = Field(
        default=False,
        description="Skip Microsoft Entra instance discovery (private clouds, Azure Stack, a test "
        "authority on this machine); passed to DefaultAzureCredential.",
    )

    _client: Any = PrivateAttr(default=None)
    _credential: Any = PrivateAttr(default=None)

    # ---------------------------------------------------------------------------- reading

    def get(self, name: str) -> str:
        """The value of secret ``name`` (an environment-variable style name, e.g. ``AIRBNB_SLACK_TOKEN``).

        Raises:
            SecretNotFoundError: The secret is missing or empty (named, with the backend and vault).
            SecretsBackendError: The backend is misconfigured or failed.
        """
        value = self.get_optional(name)
        if value is None:
            empty = ", unset or empty" if self._backend() == "env" else ""
            raise SecretNotFoundError(f"secret {name} not found ({self._location(name)}{empty})")
        return value

    def get_optional(self, name: str) -> str | None:
        """The value of secret ``name``, or ``None`` when it is missing or empty.

        Raises:
            SecretsBackendError: The backend is misconfigured or failed (a missing secret is not a failure).
        """
        backend = self._backend()
        if backend == "env":
            value = os.environ.get(name) or None
        else:
            value = self._keyvault_get(name)
        dg.get_dagster_logger().debug(
            f"secret {name} {'read' if value is not None else 'not found'} ({self._location(name)})"
        )
        return value

    def describe(self, name: str) -> str:
        """``name``, plus its Key Vault secret and vault with the ``keyvault`` backend (for messages)."""
        if self._backend() == "keyvault":
            return f"{name}; Key Vault secret {keyvault_name(name)!r} in vault {self.vault_url}"
        return name

    def close(self) -> None:
        """Close the Key Vault client and its credential, if they were built (built again on next use)."""
        client, credential = self._client, self._credential
        self._client = self._credential = None
        if client is not None:
            client.close()
        if credential is not None:
            credential.close()

    # ---------------------------------------------------------------------------- backends

    def _backend(self) -> str:
        backend = str(self.backend).strip().lower()
        if backend not in BACKENDS:
            raise SecretsBackendError(
                f"unknown secrets backend {backend!r}; expected one of {', '.join(BACKENDS)}"
            )
        if backend == "keyvault" and not self.vault_url:
            raise SecretsBackendError(
                "secrets backend 'keyvault' needs a vault_url (AIRBNB_<ENV>_KEYVAULT_URL)"
            )
        return backend

    def _location(self, name: str) -> str:
        if self._backend() == "keyvault":
            kv_name = keyvault_name(name)
            return f"secrets backend 'keyvault': Key Vault secret {kv_name!r} in vault {self.vault_url}"
        return f"secrets backend 'env': environment variable {name}"

    def _keyvault_client(self) -> Any:
        if self._client is None:
            from azure.identity import DefaultAzureCredential
            from azure.keyvault.secrets import SecretClient

            options = {"disable_instance_discovery": True} if self.disable_instance_discovery else {}
            self._credential = DefaultAzureCredential(**options)
            self._client = SecretClient(
                str(self.vault_url),
                credential=self._credential,
                verify_challenge_resource=self.verify_challenge_resource,
            )
        return self._client

    def _keyvault_get(self, name: str) -> str | None:
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

        secret_name = keyvault_name(name)
        failure: str | None = None
        try:
            value = self._keyvault_client().get_secret(secret_name).value
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            facts = [
                f"HTTP {exc.status_code}" if exc.status_code else "",
                getattr(exc.error, "code", None) or "",
            ]
            failure = type(exc).__name__ + "".join(
                f" ({', '.join(f for f in facts if f)})" if any(facts) else ""
            )
        except AzureError as exc:
            failure = type(exc).__name__
        except ValueError as exc:  # the SDK's own checks; the text is not quoted (it may hold response data)
            failure = "ValueError"
            if "challenge resource" in str(exc):
                failure += " (the vault's challenge names another domain: see verify_challenge_resource)"
        if failure is not None:
            # Raised outside the except block: no chained Azure error (with response bodies) travels on.
            raise SecretsBackendError(f"secret {name} could not be read ({self._location(name)}): {failure}")
        return value or None


def _http_failure(exc: Any) -> str:
    """Class name, HTTP status and Key Vault error code of an Azure HTTP error (never its message)."""
    facts = [f"HTTP {exc.status_code}"] if exc.status_code else []
    code = str(getattr(exc.error, "code", None) or "")
    if re.fullmatch(r"[A-Za-z_.]{1,64}", code):  # Key Vault codes are words: Forbidden, SecretDisabled
        facts.append(code)
    return f"{type(exc).__name__} ({', '.join(facts)})" if facts else type(exc).__name__
