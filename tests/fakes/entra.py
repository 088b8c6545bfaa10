"""A loopback Microsoft Entra token endpoint over HTTPS (with a throw-away test CA) for credential tests.

    entra = FakeEntra(answer="invalid_client")
    authority = await entra.start(tmp_path)   # https://127.0.0.1:PORT, trusted through entra.ca_path
    ...
    await entra.stop()

``answer``: "invalid_client" (a wrong client secret: AADSTS7000215), "expired_certificate"
(AADSTS700027) or "token" (a valid-looking access token). Every request is recorded.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ERRORS = {
    "invalid_client": (
        401,
        7000215,
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
    ),
    "expired_certificate": (
        401,
        700027,
        "AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application.",
    ),
}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def test_ca(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA (written to ``directory/ca.pem``) and a server context for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Chaperone test CA"))
        .issuer_name(_name("Chaperone test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return ca_path, context


@dataclass
class FakeEntra:
    answer: str = "invalid_client"
    requests: list[str] = field(default_factory=list)
    ca_path: Path | None = None
    _runner: web.AppRunner | None = None

    async def start(self, directory: Path) -> str:
        self.ca_path, context = test_ca(directory)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        return f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests.append(f"{request.method} {request.path}")
        if not request.path.endswith("/oauth2/v2.0/token"):
            return web.json_response(
                {
                    "error": "invalid_request",
                    "error_description": "AADSTS900561: The endpoint only accepts POST requests.",
                },
                status=400,
            )
        if self.answer == "token":
            return web.json_response(
                {
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "ext_expires_in": 3599,
                    "access_token": "test-token-not-a-secret",
                }
            )
        status, code, text = ERRORS[self.answer]
        return web.json_response(
            {
                "error": "invalid_client",
                "error_description": text,
                "error_codes": [code],
                "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": "00000000-0000-0000-0000-000000000000",
                "correlation_id": "00000000-0000-0000-0000-000000000001",
            },
            status=status,
        )
