"""Authentication with an app id, against a locally signed key set served on loopback (issue 10 items
6 and 8, issue 13): valid tokens accepted, every forgery 401, keys and the bot's token cached."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from tests.support.bot import Bot
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector
from tests.teams.identity_server import APP_ID, TENANT, IdentityServer, named_key

OTHER_TENANT = "99999999-8888-7777-6666-555555555555"
EMULATOR_TENANT = "d6d49420-f39b-4df7-a1dc-d59a935871db"


@pytest.fixture
def app_id() -> str:
    return APP_ID


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def help_with(bot: Bot, connector: FakeConnector, token: str, **kw: str) -> int:
    status, _ = await bot.post(act.message("/help", service_url=connector.url, **kw), headers=bearer(token))
    return status


async def test_a_valid_channel_token_is_accepted_and_replies_carry_the_bots_own_token(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    assert await help_with(bot, connector, idp.mint(service_url=connector.url)) == 200
    assert "What you can do" in card_text(connector.cards()[-1])
    assert connector.auth and all(a == "Bearer bot-token-1" for a in connector.auth)


@pytest.mark.parametrize(
    "issuer", [f"https://login.microsoftonline.com/{TENANT}/v2.0", f"https://sts.windows.net/{TENANT}/"]
)
async def test_a_token_from_the_bots_own_tenant_is_accepted(
    bot: Bot, connector: FakeConnector, idp: IdentityServer, issuer: str
) -> None:
    assert await help_with(bot, connector, idp.mint(service_url=connector.url, issuer=issuer)) == 200


FORGERIES: dict[str, dict[str, Any]] = {
    "wrong tenant (v2 issuer)": dict(issuer=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"),
    "wrong tenant (v1 issuer)": dict(issuer=f"https://sts.windows.net/{OTHER_TENANT}/"),
    "emulator issuer": dict(issuer=f"https://sts.windows.net/{EMULATOR_TENANT}/"),
    "wrong audience": dict(audience="99999999-2222-3333-4444-555555555555"),
    "expired": dict(lifetime=-600.0),
    "no exp": dict(drop=("exp",)),
    "no audience": dict(drop=("aud",)),
    "not yet valid": dict(extra={"nbf": int(time.time()) + 3600}),
    "unknown key": dict(kid="forged-kid", key=named_key("attacker")),
    "known kid, other key": dict(kid="bf-key-1", key=named_key("attacker")),
    "alg none": dict(alg="none"),
    "serviceurl of another host": dict(service_url="https://smba.evil.example.org/"),
    "no serviceurl": dict(drop=("serviceurl",)),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_tokens_are_refused_with_401(
    bot: Bot, connector: FakeConnector, idp: IdentityServer, forgery: str
) -> None:
    kw: dict[str, Any] = {"service_url": connector.url, **FORGERIES[forgery]}
    assert await help_with(bot, connector, idp.mint(**kw)) == 401
    assert connector.sent == [] and connector.member_calls == 0
    assert await bot.services.store.query("conversations") == []


async def test_hs256_signed_with_a_guessable_secret_is_401(bot: Bot, connector: FakeConnector) -> None:
    token = jwt.encode(
        {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "exp": int(time.time()) + 600,
            "serviceurl": connector.url,
        },
        "secret" * 6,
        algorithm="HS256",
        headers={"kid": "bf-key-1"},
    )
    assert await help_with(bot, connector, token) == 401


async def test_a_key_not_endorsed_for_teams_is_401(bot: Bot, connector: FakeConnector, idp: IdentityServer) -> None:
    idp.endorsements = ["webchat"]
    assert await help_with(bot, connector, idp.mint(service_url=connector.url)) == 401


async def test_steady_state_turns_make_no_identity_calls(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    token = idp.mint(service_url=connector.url)
    assert await help_with(bot, connector, token) == 200
    warm = idp.total
    for _ in range(20):
        assert await help_with(bot, connector, token) == 200
    assert idp.total == warm
    assert idp.tokens_issued == 1


async def test_unknown_key_ids_buy_at_most_one_key_refresh(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    assert await help_with(bot, connector, idp.mint(service_url=connector.url)) == 200
    before = idp.calls["keys"]
    statuses = await asyncio.gather(
        *(
            help_with(bot, connector, idp.mint(service_url=connector.url, kid=f"kid-{i}", key=named_key("attacker")))
            for i in range(10)
        )
    )
    assert statuses == [401] * 10
    assert idp.calls["keys"] - before <= 1


@pytest.mark.parametrize("identity_timeout", [0.3])
@pytest.mark.parametrize("identity_hangs", [True])
async def test_dead_identity_endpoints_give_503_and_never_hold_healthz(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    # every identity call hangs from the start: no key has ever been fetched
    async with bot.session.get(f"{bot.url}/healthz") as r:
        assert r.status == 200
    status, _ = await bot.post(
        act.message("/help", service_url=connector.url), headers=bearer(idp.mint(service_url=connector.url))
    )
    assert status == 503
    async with bot.session.post(
        f"{bot.url}/api/messages",
        json=act.message("/help", service_url=connector.url),
        headers=bearer(idp.mint(service_url=connector.url)),
    ) as r:
        assert r.status == 503 and r.headers["Retry-After"].isdigit()
    assert connector.sent == []


@pytest.mark.parametrize("identity_timeout", [0.3])
async def test_hanging_identity_endpoints_do_not_hold_validated_callers(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    token = idp.mint(service_url=connector.url)
    assert await help_with(bot, connector, token) == 200
    idp.hang = asyncio.Event()
    for _ in range(3):
        assert await help_with(bot, connector, token) == 200
    # a token naming an unknown key waits for one bounded refresh, then is refused
    assert (
        await help_with(bot, connector, idp.mint(service_url=connector.url, kid="new-kid", key=named_key("attacker")))
        == 401
    )
    assert await help_with(bot, connector, token) == 200


async def test_another_tenants_activity_with_a_valid_token_is_403_and_stores_nothing(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    activity = act.message("/help", service_url=connector.url)
    activity["channelData"]["tenant"]["id"] = OTHER_TENANT
    status, _ = await bot.post(activity, headers=bearer(idp.mint(service_url=connector.url)))
    assert status == 403
    assert connector.sent == [] and await bot.services.store.query("conversations") == []


async def test_an_accepted_token_is_still_bound_to_its_service_url(
    bot: Bot, connector: FakeConnector, idp: IdentityServer
) -> None:
    token = idp.mint(service_url=connector.url)
    assert await help_with(bot, connector, token) == 200
    sent = len(connector.sent)
    activity = act.message("/help", service_url="https://smba.evil.example.org/")
    status, _ = await bot.post(activity, headers=bearer(token))
    assert status == 401 and len(connector.sent) == sent
