"""Fixtures for the managed-identity tests: Azurite over HTTPS with `--oauth basic` (Azurite accepts
bearer tokens only over TLS; it checks a token's audience, issuer and lifetime, not its
signature), a throwaway CA and server certificate made here, tokens shaped like Entra ID's, and a
loopback App Service managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER), so the real
ManagedIdentityCredential runs as it does in App Service."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]  # the repository
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-table"
TENANT = "00000000-0000-0000-0000-000000000001"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, Any]) -> str:
    """A well-formed, unsigned-in-effect JWT (Azurite's basic OAuth does not check signatures)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(b"not-a-signature")))


class TokenCredential:
    """An azure-core async TokenCredential minting tokens shaped like Entra ID's for a managed identity."""

    def __init__(self, *, lifetime: int = 3600, audience: str = "https://storage.azure.com") -> None:
        self.lifetime, self.audience = lifetime, audience
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        token, expires = token_for(self.audience, lifetime=self.lifetime)
        return AccessToken(token, max(expires, int(time.time())))

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> TokenCredential:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        pass


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 it signed: (ca.pem, server.pem, server-key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Chaperone test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(table endpoint, CA bundle) of a fresh Azurite that accepts bearer tokens over HTTPS."""
    if not AZURITE.exists() or shutil.which("node") is None:
        pytest.fail("Azurite is not installed: run scripts/bootstrap (needs node and npm).")
    work = tmp_path_factory.mktemp("azurite-oauth")
    ca, cert, key = _certificates(work)
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(AZURITE),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
            "--oauth",
            "basic",
            "--cert",
            str(cert),
            "--key",
            str(key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
        cwd=work,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # Azurite says when it listens (the read blocks until then)
        seen.append(line)
        if "successfully started" in line:
            break
    else:
        proc.kill()
        pytest.fail(f"Azurite did not start: {''.join(seen)[-2000:]}")
    yield f"https://127.0.0.1:{port}/devstoreaccount1", ca
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def token_for(
    audience: str, *, lifetime: int = 3600, appid: str = "44444444-4444-4444-4444-444444444444"
) -> tuple[str, int]:
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "oid": "55555555-5555-5555-5555-555555555555",
        "tid": TENANT,
        "appid": appid,
    }
    return jwt(claims), now + lifetime


@dataclass
class IdentityEndpoint:
    """App Service's local managed-identity endpoint (api-version 2019-08-01), on loopback."""

    header: str = "test-identity-header"
    asked: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def _token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-IDENTITY-HEADER") != self.header:
            return web.json_response({"error": "wrong header"}, status=401)
        self.asked.append(dict(request.query))
        resource = request.query["resource"].removesuffix("/.default")
        token, expires = token_for(resource, appid=request.query.get("client_id", ""))
        return web.json_response(
            {
                "access_token": token,
                "expires_on": str(expires),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": request.query.get("client_id", ""),
            }
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/msi/token", self._token)
        return app


@pytest.fixture
async def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[IdentityEndpoint]:
    from tests.support.serve import serve

    endpoint = IdentityEndpoint()
    runner, url = await serve(endpoint.app())
    endpoint.url = f"{url}/msi/token"
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", endpoint.header)
    yield endpoint
    await runner.cleanup()
