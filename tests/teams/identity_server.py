"""A loopback identity stand-in: Bot Framework and Entra OpenID metadata, key sets and a token
endpoint, with RS256 keys generated here (``cryptography``), optional added latency and a hang
switch, and a count of every call. ``mint`` signs tokens with its keys (or any other).

    idp = IdentityServer(); runner, idp.url = await serve(idp.app())
    settings = Settings(..., botframework_openid_url=idp.botframework_openid_url, entra_login_url=idp.url)
    headers = {"Authorization": f"Bearer {idp.mint(service_url=connector.url)}"}
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "00000000-0000-0000-0000-0000000000001"
CHANNEL_ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def named_key(name: str) -> rsa.RSAPrivateKey:
    """One key per name per process (generating RSA keys is slow; tests share them)."""
    return new_key()


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str] | None = None) -> dict[str, Any]:
    pub = key.public_key().public_numbers()
    out: dict[str, Any] = {"kty": "RSA", "use": "sig", "kid": kid, "n": _b64(pub.n), "e": _b64(pub.e)}
    if endorsements is not None:
        out["endorsements"] = endorsements
    return out


def _base(request: web.Request) -> str:
    """The origin the client used (this server's own, or the Microsoft host it was reached as)."""
    return f"{request.scheme}://{request.host}"


@dataclass
class IdentityServer:
    url: str = ""
    tenant: str = TENANT
    delay: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    hang: asyncio.Event | None = None
    channel_key: rsa.RSAPrivateKey = field(default_factory=lambda: named_key("channel"))
    tenant_key: rsa.RSAPrivateKey = field(default_factory=lambda: named_key("tenant"))
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    tokens_issued: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/botframework/v1/.well-known/openidconfiguration", self._bf_metadata)
        app.router.add_get("/botframework/v1/.well-known/keys", self._bf_keys)
        # the real paths, for clients reaching this server as login.botframework.com through a proxy
        app.router.add_get("/v1/.well-known/openidconfiguration", self._bf_metadata)
        app.router.add_get("/v1/.well-known/keys", self._bf_keys)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._tenant_metadata)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self._tenant_keys)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        return app

    @property
    def botframework_openid_url(self) -> str:
        return f"{self.url}/botframework/v1/.well-known/openidconfiguration"

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    async def _pace(self, what: str) -> None:
        self.calls[what] += 1
        if self.hang is not None:
            await self.hang.wait()
        if self.delay:
            await asyncio.sleep(self.delay)

    async def _bf_metadata(self, request: web.Request) -> web.Response:
        await self._pace("metadata")
        prefix = "/botframework" if request.path.startswith("/botframework/") else ""
        return web.json_response(
            {
                "issuer": CHANNEL_ISSUER,
                "jwks_uri": f"{_base(request)}{prefix}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _bf_keys(self, request: web.Request) -> web.Response:
        await self._pace("keys")
        return web.json_response({"keys": [jwk(self.channel_key, "bf-key-1", self.endorsements)]})

    async def _tenant_metadata(self, request: web.Request) -> web.Response:
        await self._pace("metadata")
        t, base = request.match_info["tenant"], _base(request)
        return web.json_response(
            {
                "issuer": f"https://login.microsoftonline.com/{t}/v2.0",
                "jwks_uri": f"{base}/{t}/discovery/v2.0/keys",
                "token_endpoint": f"{base}/{t}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{t}/oauth2/v2.0/authorize",
            }
        )

    async def _tenant_keys(self, request: web.Request) -> web.Response:
        await self._pace("keys")
        return web.json_response({"keys": [jwk(self.tenant_key, "tenant-key-1")]})

    async def _token(self, request: web.Request) -> web.Response:
        await self._pace("token")
        form = await request.post()
        if form.get("grant_type") != "client_credentials" or not form.get("client_id"):
            return web.json_response({"error": "invalid_request"}, status=400)
        self.tokens_issued += 1
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": f"bot-token-{self.tokens_issued}",
            }
        )

    def mint(
        self,
        *,
        service_url: str,
        audience: str = APP_ID,
        issuer: str = CHANNEL_ISSUER,
        lifetime: float = 3600.0,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        alg: str = "RS256",
        drop: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A token as the Bot Framework channel signs it (override any part to forge one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "exp": int(now + lifetime),
            "nbf": now - 10,
            "serviceurl": service_url,
            **(extra or {}),
        }
        for name in drop:
            claims.pop(name, None)
        tenant_issuer = issuer.startswith("https://login.microsoftonline.com/") or issuer.startswith(
            "https://sts.windows.net/"
        )
        signer = key or (self.tenant_key if tenant_issuer else self.channel_key)
        kid = kid or ("tenant-key-1" if tenant_issuer else "bf-key-1")
        if alg == "none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]
        return jwt.encode(claims, signer, algorithm=alg, headers={"kid": kid})
