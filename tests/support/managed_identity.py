"""Fixtures for the managed-identity tests: Azurite over HTTPS with `--oauth basic` (Azurite accepts
bearer tokens only over TLS; it checks a token's audience, issuer and lifetime, not its
signature), a throwaway CA and server certificate made here, tokens shaped like Entra ID's, and a
loopback App Service managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER), so the real
ManagedIdentityCredential runs as it does in App Service."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from azure.core.credentials import AccessToken

from tests.support import azurite
from tests.support.tls import make_ca

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


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(table endpoint, CA bundle) of a fresh Azurite that accepts bearer tokens over HTTPS."""
    if not azurite.installed():
        pytest.fail(azurite.MISSING)
    work = tmp_path_factory.mktemp("azurite-oauth")
    made = make_ca(work)
    with azurite.running(work, "--oauth", "basic", "--cert", str(made.cert), "--key", str(made.key)) as port:
        yield f"https://127.0.0.1:{port}/devstoreaccount1", made.ca


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
