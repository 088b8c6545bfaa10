"""Bot Framework identity off the event loop: cached signing keys, token validation, the bot's own token.

botbuilder 4.17.1 fetches keys and tokens with blocking ``requests`` on the event loop and builds a
new credential (with an empty MSAL cache) for every connector client. Here every identity call is
an aiohttp request with a timeout, made by a background task or by one shared in-flight fetch; a
turn whose key and token are cached makes none.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

CHANNEL_ISSUER = "https://api.botframework.com"
BOTFRAMEWORK_SCOPE = "https://api.botframework.com/.default"
BOTFRAMEWORK_RESOURCE = "https://api.botframework.com"
CLOCK_SKEW = 5 * 60
MAX_TOKEN = 16 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9:;@._\-]")


def safe_id(value: object, limit: int = 80) -> str:
    """An id from an unauthenticated request, fit for a log line: printable id characters only, bounded."""
    text = value if isinstance(value, str) else repr(value)
    return _SAFE.sub("?", text[:limit])


class AuthError(Exception):
    """The request's token is missing, malformed or not valid for this bot (HTTP 401).

    Its message is a short snake_case code for the log line (the caller answers 401 and says no more).
    """


class IdentityUnavailable(Exception):
    """The signing keys or the bot's own token could not be fetched in time (HTTP 503 with Retry-After).

    Its message is a short snake_case code for the log line; no user reads it.
    """


SessionGetter = Callable[[], aiohttp.ClientSession]


@dataclass(frozen=True)
class SigningKey:
    key: Any
    endorsements: frozenset[str]


@dataclass
class KeySet:
    """The signing keys named by one OpenID metadata document, fetched in the background.

    ``get(kid)`` never waits for the network when the key is known. An unknown ``kid`` joins the
    in-flight refresh or starts one, at most once per ``min_refresh`` seconds, and waits for it at
    most ``timeout`` seconds.
    """

    session: SessionGetter
    metadata_url: str
    timeout: float = 5.0
    lifetime: float = 24 * 3600.0
    min_refresh: float = 300.0
    retry: float = 30.0
    #: With keys in hand, an unknown kid waits at most this long for the refresh it joined (it
    #: holds one of the route's turn slots meanwhile); with none, up to ``timeout``.
    known_wait: float = 1.0
    keys: dict[str, SigningKey] = field(default_factory=dict)
    loaded_at: float = 0.0
    _attempted_at: float = -1e18
    _inflight: asyncio.Task[None] | None = None
    _runner: asyncio.Task[None] | None = None
    _ttl: float = 0.0

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name=f"keys:{self.metadata_url}")

    async def close(self) -> None:
        await _cancel(self._runner, self._inflight)
        self._runner = self._inflight = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
                delay = self._ttl or self.lifetime
            except Exception as exc:
                log.warning("signing keys not refreshed url=%s error=%s", self.metadata_url, type(exc).__name__)
                delay = self.retry
            await asyncio.sleep(delay * random.uniform(0.9, 1.0))

    def refresh(self) -> asyncio.Task[None]:
        """The in-flight fetch, or a new one."""
        if self._inflight is None or self._inflight.done():
            self._attempted_at = time.monotonic()
            self._inflight = asyncio.get_running_loop().create_task(self._fetch())
        return self._inflight

    async def _fetch(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        http = self.session()
        async with http.get(self.metadata_url, timeout=timeout) as r:
            r.raise_for_status()
            metadata = await r.json(content_type=None)
        jwks_uri = metadata["jwks_uri"]
        async with http.get(jwks_uri, timeout=timeout) as r:
            r.raise_for_status()
            jwks = await r.json(content_type=None)
            ttl = _max_age(r.headers.get("Cache-Control", ""))
        keys: dict[str, SigningKey] = {}
        for jwk in jwks.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
                continue
            try:
                key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            except (ValueError, KeyError, TypeError, jwt.PyJWTError):
                continue
            keys[jwk["kid"]] = SigningKey(key, frozenset(str(e) for e in jwk.get("endorsements") or ()))
        if not keys:
            raise ValueError("the key set holds no RSA keys")
        self.keys = keys
        self.loaded_at = time.monotonic()
        self._ttl = min(max(ttl, self.min_refresh), self.lifetime) if ttl else self.lifetime

    async def get(self, kid: str) -> SigningKey | None:
        key = self.keys.get(kid)
        if key is not None:
            return key
        inflight = self._inflight is not None and not self._inflight.done()
        if not inflight and time.monotonic() - self._attempted_at < self.min_refresh and self.keys:
            return None  # refreshed recently: an unknown kid does not buy another fetch
        task = self.refresh()
        try:
            await asyncio.wait_for(
                asyncio.shield(task), min(self.timeout, self.known_wait) if self.keys else self.timeout
            )
        except (TimeoutError, Exception) as exc:
            if not self.keys:
                raise IdentityUnavailable("signing_keys_unavailable") from exc
            return None
        return self.keys.get(kid)


def _max_age(cache_control: str) -> float:
    m = re.search(r"max-age=(\d+)", cache_control)
    return float(m.group(1)) if m else 0.0


@dataclass(frozen=True)
class Claims:
    """A validated token's claims that the transport uses."""

    issuer: str
    audience: str
    service_url: str | None
    raw: dict[str, Any]


class TokenValidator:
    """Bot Framework's rules for a channel's bearer token, with cached keys.

    Issuers: the Bot Framework channel (keys from its OpenID metadata, endorsed for the activity's
    channel) and the bot's own Entra tenant (v1 and v2 issuers; keys from the tenant's metadata).
    RS256 only; audience = the app id; ``exp`` required; ``nbf`` checked; 5 minutes' clock skew;
    the token's ``serviceurl`` claim must match the activity.
    """

    #: Validated tokens remembered (the channel reuses one token for many requests): a hit costs a
    #: dict look-up, not three base64 parses and an RSA verification.
    CACHE_SIZE = 4096

    def __init__(self, *, app_id: str, tenant_id: str, channel_keys: KeySet, tenant_keys: KeySet | None) -> None:
        self.app_id = app_id
        self._seen: OrderedDict[str, tuple[Claims, KeySet, str, float]] = OrderedDict()
        self.channel_keys = channel_keys
        self.tenant_keys = tenant_keys
        self.tenant_issuers = (
            frozenset({f"https://sts.windows.net/{tenant_id}/", f"https://login.microsoftonline.com/{tenant_id}/v2.0"})
            if tenant_id
            else frozenset()
        )

    async def validate(self, header: str, *, channel_id: str, service_url: str | None) -> Claims:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or len(token) > MAX_TOKEN or " " in token:
            raise AuthError("no_bearer_token")
        seen = self._seen.get(token)
        if seen is not None:
            claims, keys, kid, expires = seen
            if time.time() < expires + CLOCK_SKEW and kid in keys.keys:
                self._check_binding(claims, keys, channel_id, service_url, kid)
                self._seen.move_to_end(token)
                return claims
            del self._seen[token]
        claims, keys, kid = await self._validate(token, channel_id=channel_id, service_url=service_url)
        self._seen[token] = (claims, keys, kid, float(claims.raw["exp"]))
        if len(self._seen) > self.CACHE_SIZE:
            self._seen.popitem(last=False)
        return claims

    def _check_binding(self, claims: Claims, keys: KeySet, channel_id: str, service_url: str | None, kid: str) -> None:
        """What ties a valid token to this activity: the key's channel endorsement and the serviceUrl."""
        key = keys.keys[kid]
        if keys is self.channel_keys and key.endorsements and channel_id not in key.endorsements:
            raise AuthError("key_not_endorsed")
        if keys is self.channel_keys and not claims.service_url:
            raise AuthError("no_serviceurl_claim")
        if claims.service_url is not None and claims.service_url.rstrip("/") != (service_url or "").rstrip("/"):
            raise AuthError("serviceurl_mismatch")

    async def _validate(self, token: str, *, channel_id: str, service_url: str | None) -> tuple[Claims, KeySet, str]:
        try:
            head = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AuthError("malformed_token") from exc
        if head.get("alg") != "RS256":
            raise AuthError("algorithm_not_allowed")
        kid = head.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("no_key_id")
        issuer = unverified.get("iss")
        if issuer == CHANNEL_ISSUER:
            keys = self.channel_keys
        elif isinstance(issuer, str) and issuer in self.tenant_issuers and self.tenant_keys is not None:
            keys = self.tenant_keys
        else:
            raise AuthError("issuer_not_allowed")
        key = await keys.get(kid)
        if key is None:
            raise AuthError("unknown_signing_key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud"], "verify_exp": True, "verify_nbf": True},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AuthError(type(exc).__name__) from exc
        claimed_url = claims.get("serviceurl")
        if claimed_url is not None and not isinstance(claimed_url, str):
            raise AuthError("serviceurl_not_string")
        if not isinstance(claims.get("exp"), (int, float)):
            raise AuthError("exp_not_number")
        result = Claims(issuer=issuer, audience=str(claims["aud"]), service_url=claimed_url, raw=claims)
        self._check_binding(result, keys, channel_id, service_url, kid)
        return result, keys, kid


@dataclass
class AppToken:
    """The bot's own access token for the Bot Connector: one per process, cached, refreshed in the
    background five minutes before it expires (client secret for SingleTenant; the managed identity
    endpoint for UserAssignedMSI)."""

    session: SessionGetter
    app_id: str
    secret: str
    tenant_id: str
    app_type: str
    login_url: str
    timeout: float = 5.0
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    token: str = ""
    expires_at: float = 0.0
    _inflight: asyncio.Task[None] | None = None
    _runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="bot-token")

    async def close(self) -> None:
        await _cancel(self._runner, self._inflight)
        self._runner = self._inflight = None

    def _fresh(self, margin: float = 60.0) -> bool:
        return bool(self.token) and time.monotonic() < self.expires_at - margin

    async def get(self) -> str:
        """The cached token; only a cold or expired cache waits (for one shared fetch, bounded)."""
        if self._fresh():
            return self.token
        task = self._refresh()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError as exc:
            raise IdentityUnavailable("bot_token_timeout") from exc
        return self.token

    def _refresh(self) -> asyncio.Task[None]:
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.get_running_loop().create_task(self._fetch())
        return self._inflight

    async def _run(self) -> None:
        while True:
            try:
                if not self._fresh(300.0):
                    await self._refresh()
                left = self.expires_at - time.monotonic()
                delay = max(30.0, min(left - 300.0, left / 2))
            except Exception as exc:
                log.warning("bot token not refreshed app=%s error=%s", self.app_id, type(exc).__name__)
                delay = 15.0
            await asyncio.sleep(delay)

    async def _fetch(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        http = self.session()
        if self.app_type == "UserAssignedMSI":
            endpoint, header = self.env.get("IDENTITY_ENDPOINT"), self.env.get("IDENTITY_HEADER")
            if endpoint and header:
                params = {"api-version": "2019-08-01", "resource": BOTFRAMEWORK_RESOURCE, "client_id": self.app_id}
                request = http.get(endpoint, params=params, headers={"X-IDENTITY-HEADER": header}, timeout=timeout)
            else:
                params = {"api-version": "2018-02-01", "resource": BOTFRAMEWORK_RESOURCE, "client_id": self.app_id}
                request = http.get(
                    "http://169.254.169.254/metadata/identity/oauth2/token",
                    params=params,
                    headers={"Metadata": "true"},
                    timeout=timeout,
                )
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.app_id,
                "client_secret": self.secret,
                "scope": BOTFRAMEWORK_SCOPE,
            }
            request = http.post(
                f"{self.login_url.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token", data=form, timeout=timeout
            )
        async with request as r:
            if r.status != 200:
                raise IdentityUnavailable(f"token_endpoint_status={r.status}")
            body = await r.json(content_type=None)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise IdentityUnavailable("no_access_token")
        expires_in = float(body.get("expires_in") or 3600)
        self.token = token
        self.expires_at = time.monotonic() + expires_in


async def _cancel(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel background refresh tasks and wait for them to end (closing: their errors are moot)."""
    running = [t for t in tasks if t is not None]
    for task in running:
        task.cancel()
    for task in running:
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
