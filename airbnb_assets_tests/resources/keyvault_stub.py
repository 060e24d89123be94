"""A local HTTPS stub of Azure Key Vault's secrets REST API and of the Entra ID token endpoint.

No Key Vault emulator is served by the package registries here, so the tests run the real
``SecretClient`` + ``DefaultAzureCredential`` (its ``EnvironmentCredential``: a service principal
with a client secret, through MSAL) against this server on 127.0.0.1:

- ``GET /<tenant>/v2.0/.well-known/openid-configuration``: the tenant discovery MSAL does first
  (instance discovery, a call to Microsoft's cloud, is turned off by the resource's
  ``disable_instance_discovery``).
- ``POST /<tenant>/oauth2/v2.0/token``: the client-credentials grant; answers :data:`ACCESS_TOKEN`
  when the client id and secret match, else ``401 invalid_client``.
- ``GET /secrets/<name>[/<version>]?api-version=...``: without ``Authorization: Bearer
  ACCESS_TOKEN``, ``401`` with Key Vault's ``WWW-Authenticate: Bearer authorization=..., resource=...``
  challenge; with it, the secret as Key Vault returns it, or ``404 SecretNotFound``.

The server speaks TLS with a certificate signed by a throw-away CA made here with
``cryptography``; clients trust it through ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TENANT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_SECRET = "sp-client-s3cr3t-VALUE"
ACCESS_TOKEN = "stub-access-t0ken-VALUE"
RESOURCE = "https://vault.azure.net"


@dataclass(frozen=True)
class StubRequest:
    """One request the stub answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int


@dataclass
class KeyVaultStub:
    """State of a running stub: its secrets (Key Vault names), base URL, CA file and requests seen."""

    secrets: dict[str, str]
    base: str = ""
    ca_file: Path = Path()
    requests: list[StubRequest] = field(default_factory=list)

    def seen(self, method: str, prefix: str) -> list[StubRequest]:
        """The requests with ``method`` whose path starts with ``prefix``."""
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]


# ---------------------------------------------------------------------------------- certificates


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 / localhost; returns (ca.pem, server.pem, server.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("keyvault-stub test CA"))
        .issuer_name(_name("keyvault-stub test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


# ---------------------------------------------------------------------------------- handler

_SECRET_PATH = re.compile(r"/secrets/(?P<name>[0-9A-Za-z-]+)(?:/(?P<version>[0-9A-Za-z]*))?/?")
_VERSION = "0123456789abcdef0123456789abcdef"


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a stuck client cannot hold a handler thread for longer

    @property
    def stub(self) -> KeyVaultStub:
        return self.server.stub  # type: ignore[attr-defined]

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None, sent: str = "") -> None:
        payload = json.dumps(body).encode("utf-8")
        request_headers = {k.lower(): v for k, v in self.headers.items()}
        self.stub.requests.append(StubRequest(self.command, self.path, request_headers, sent, status))
        self.send_response(status)
        for name, value in {"Content-Type": "application/json; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = urlsplit(self.path).path
        base, tenant = self.stub.base, TENANT_ID
        if path == f"/{tenant}/v2.0/.well-known/openid-configuration":
            self._answer(
                200,
                {
                    "issuer": f"{base}/{tenant}/v2.0",
                    "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                },
            )
            return
        match = _SECRET_PATH.fullmatch(path)
        if match is None:
            self._answer(404, {"error": {"code": "NotFound", "message": "unknown path"}})
        elif self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            challenge = f'Bearer authorization="{base}/{tenant}", resource="{RESOURCE}"'
            self._answer(
                401,
                {"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer token"}},
                {"WWW-Authenticate": challenge},
            )
        elif match["name"] not in self.stub.secrets:
            message = (
                f"A secret with (name/id) {match['name']} was not found in this key vault. If you "
                "recently deleted this secret you may be able to recover it using the correct "
                "recovery command. For help resolving this issue, please see "
                "https://go.microsoft.com/fwlink/?linkid=2125182"
            )
            self._answer(404, {"error": {"code": "SecretNotFound", "message": message}})
        else:
            version = match["version"] or _VERSION
            self._answer(
                200,
                {
                    "value": self.stub.secrets[match["name"]],
                    "id": f"{base}/secrets/{match['name']}/{version}",
                    "attributes": {
                        "enabled": True,
                        "created": 1700000000,
                        "updated": 1700000000,
                        "recoveryLevel": "Recoverable+Purgeable",
                        "recoverableDays": 90,
                    },
                    "tags": {},
                },
            )

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if urlsplit(self.path).path != f"/{TENANT_ID}/oauth2/v2.0/token":
            self._answer(404, {"error": "not_found"}, sent=body)
        elif (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == CLIENT_ID
            and form.get("client_secret") == CLIENT_SECRET
            and form.get("scope") == f"{RESOURCE}/.default"
        ):
            answer = {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600}
            self._answer(200, {**answer, "access_token": ACCESS_TOKEN}, sent=body)
        else:
            self._answer(401, {"error": "invalid_client", "error_description": "AADSTS7000215"}, sent=body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output quiet."""


# ---------------------------------------------------------------------------------- server


@contextmanager
def keyvault_stub(folder: Path, secrets: dict[str, str]) -> Iterator[KeyVaultStub]:
    """Run the stub with ``secrets`` (Key Vault names) on a free port of 127.0.0.1 until exit."""
    ca_file, cert_file, key_file = make_certificates(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    # The handshake runs in the handler thread (first read), not in the accepting loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    stub = KeyVaultStub(secrets=dict(secrets), base=f"https://127.0.0.1:{server.server_address[1]}")
    stub.ca_file = ca_file
    server.stub = stub  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
