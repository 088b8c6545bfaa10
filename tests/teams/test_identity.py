"""The bot's own token: one fetch, cached, shared by concurrent callers; the managed identity path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.teams.identity import AppToken, IdentityUnavailable
from tests.support.serve import serve
from tests.teams.identity_server import APP_ID, TENANT, IdentityServer


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_concurrent_callers_share_one_token_fetch(idp: IdentityServer, http: aiohttp.ClientSession) -> None:
    token = AppToken(lambda: http, APP_ID, "secret", TENANT, "SingleTenant", idp.url)
    tokens = await asyncio.gather(*(token.get() for _ in range(20)))
    assert set(tokens) == {"bot-token-1"} and idp.calls["token"] == 1
    assert await token.get() == "bot-token-1" and idp.calls["token"] == 1


@pytest.mark.parametrize("identity_hangs", [True])
async def test_a_hanging_token_endpoint_gives_identity_unavailable_in_bounded_time(
    idp: IdentityServer, http: aiohttp.ClientSession
) -> None:
    token = AppToken(lambda: http, APP_ID, "secret", TENANT, "SingleTenant", idp.url, timeout=0.2)
    try:
        with pytest.raises(IdentityUnavailable):
            await token.get()
    finally:
        await token.close()


async def test_user_assigned_managed_identity_uses_the_identity_endpoint(http: aiohttp.ClientSession) -> None:
    seen: list[dict[str, str]] = []

    async def identity(request: web.Request) -> web.Response:
        seen.append({**request.query, "header": request.headers.get("X-IDENTITY-HEADER", "")})
        return web.json_response({"access_token": "msi-token", "expires_in": "3600", "token_type": "Bearer"})

    app = web.Application()
    app.router.add_get("/msi/token", identity)
    runner, url = await serve(app)
    try:
        token = AppToken(
            lambda: http,
            APP_ID,
            "",
            TENANT,
            "UserAssignedMSI",
            "unused",
            env={"IDENTITY_ENDPOINT": f"{url}/msi/token", "IDENTITY_HEADER": "h-1"},
        )
        assert await token.get() == "msi-token"
        assert seen == [
            {
                "api-version": "2019-08-01",
                "resource": "https://api.botframework.com",
                "client_id": APP_ID,
                "header": "h-1",
            }
        ]
    finally:
        await runner.cleanup()
