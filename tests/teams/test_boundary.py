"""The transport's boundary (issue 10 items 1, 5, 6, 8): the tenant allow-list, failing closed on a
half configuration, and no 500 from hostile bodies."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.audit import Audit
from bot.config import Settings, load_school_config
from bot.errors import ConfigError
from tests.support.bot import CONFIG, Bot
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

OTHER_TENANT = "99999999-8888-7777-6666-555555555555"
ROOT = Path(__file__).resolve().parents[2]


def from_tenant(activity: dict[str, Any], tenant: str | None) -> dict[str, Any]:
    if tenant is None:
        activity["channelData"].pop("tenant", None)
    else:
        activity["channelData"]["tenant"] = {"id": tenant}
    activity["conversation"].pop("tenantId", None)
    return activity


@pytest.mark.parametrize("tenant", [OTHER_TENANT, None, "", "00000000-0000-0000-0000-0000000000001 "[:-2]])
async def test_another_tenant_gets_no_turn_nothing_stored_and_is_audited(
    bot: Bot, connector: FakeConnector, tenant: str | None
) -> None:
    status, _ = await bot.post(from_tenant(act.message("/help", service_url=connector.url, user="dee"), tenant))
    assert status == 403
    assert connector.sent == [] and connector.member_calls == 0
    assert await bot.services.store.query("conversations") == []
    [entry] = await Audit(bot.services.store).entries()
    assert entry.action == "turn.refused.tenant" and entry.who == "aad-dee"


async def test_card_actions_and_installs_from_another_tenant_are_refused_too(
    bot: Bot, connector: FakeConnector
) -> None:
    for activity in (
        act.execute("concern.open", {"ref": "C-1"}, reply_to="1", service_url=connector.url, user="dee"),
        act.submit({"verb": "book.submit"}, reply_to="1", service_url=connector.url),
        act.installation(service_url=connector.url),
    ):
        status, _ = await bot.post(from_tenant(activity, OTHER_TENANT))
        assert status == 403
    assert connector.sent == [] and await bot.services.store.query("conversations") == []


async def test_the_tenant_match_ignores_case(bot: Bot, connector: FakeConnector) -> None:
    status, _ = await bot.post(from_tenant(act.message("/help", service_url=connector.url), act.TENANT.upper()))
    assert status == 200


def test_tenant_ids_list_for_a_trust(tmp_path: Path) -> None:
    path = tmp_path / "chaperone.toml"
    path.write_text(
        CONFIG.format(profile="000-two-staff").replace(
            "profile = ", f'tenant_ids = ["{OTHER_TENANT.upper()}"]\nprofile = '
        ),
        encoding="utf-8",
    )
    school = load_school_config(path).school
    assert school.allowed_tenants == {act.TENANT, OTHER_TENANT}


def test_the_example_config_and_the_simulator_agree_on_the_tenant() -> None:
    yml = (ROOT / ".m365agentsplayground.yml").read_text(encoding="utf-8")
    [tenant] = [line.split(":", 1)[1].strip() for line in yml.splitlines() if line.startswith("tenantId:")]
    assert load_school_config(ROOT / "bot" / "example" / "chaperone.toml").school.allowed_tenants == {tenant}


def test_a_config_without_a_tenant_refuses_to_start(tmp_path: Path) -> None:
    from bot.app import create_app

    path = tmp_path / "chaperone.toml"
    path.write_text(
        CONFIG.format(profile="000-two-staff").replace('tenant_id = "00000000-0000-0000-0000-0000000000001"\n', ""),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="tenant_id"):
        create_app(Settings(config_path=path, data_dir=tmp_path / "data", local=True), background=False)


# --- failing closed ---------------------------------------------------------------------

HALF_CONFIGURATIONS = {
    "nothing at all": ({}, "CHAPERONE_LOCAL=1"),
    "CHAPERONE_LOCAL not exactly 1": ({"CHAPERONE_LOCAL": "yes"}, "CHAPERONE_LOCAL=1"),
    "secret without app id": (
        {"MICROSOFT_APP_PASSWORD": "s3cret", "CHAPERONE_LOCAL": "1"},
        "MICROSOFT_APP_ID is empty but MICROSOFT_APP_PASSWORD",
    ),
    "app id without tenant": (
        {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "s3cret"},
        "MICROSOFT_APP_TENANT_ID is missing",
    ),
    "app id without secret": (
        {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_TENANT_ID": "t"},
        "MICROSOFT_APP_PASSWORD is missing",
    ),
    "multi-tenant": (
        {
            "MICROSOFT_APP_ID": "app",
            "MICROSOFT_APP_PASSWORD": "s",
            "MICROSOFT_APP_TENANT_ID": "t",
            "MICROSOFT_APP_TYPE": "MultiTenant",
        },
        "SingleTenant or UserAssignedMSI",
    ),
    "app id and local mode": (
        {
            "MICROSOFT_APP_ID": "app",
            "MICROSOFT_APP_PASSWORD": "s",
            "MICROSOFT_APP_TENANT_ID": "t",
            "CHAPERONE_LOCAL": "1",
        },
        "both set",
    ),
}


@pytest.mark.parametrize("case", list(HALF_CONFIGURATIONS))
def test_a_half_configuration_refuses_to_start_naming_what_is_missing(case: str) -> None:
    env, missing = HALF_CONFIGURATIONS[case]
    settings = Settings.from_env(env)
    with pytest.raises(ConfigError, match=missing):
        settings.check_transport()


@pytest.mark.parametrize(
    "env",
    [
        {"CHAPERONE_LOCAL": "1"},
        {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "s", "MICROSOFT_APP_TENANT_ID": "t"},
        {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_TENANT_ID": "t", "MICROSOFT_APP_TYPE": "UserAssignedMSI"},
    ],
)
def test_whole_configurations_start(env: dict[str, str]) -> None:
    Settings.from_env(env).check_transport()


def test_local_mode_listens_on_loopback_only() -> None:
    assert Settings.from_env({"CHAPERONE_LOCAL": "1"}).listen_host == "127.0.0.1"
    assert (
        Settings.from_env(
            {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "s", "MICROSOFT_APP_TENANT_ID": "t"}
        ).listen_host
        == "0.0.0.0"
    )


# --- hostile bodies -----------------------------------------------------------------------


async def raw_post(bot: Bot, data: bytes, content_type: str = "application/json") -> int:
    async with bot.session.post(f"{bot.url}/api/messages", data=data, headers={"Content-Type": content_type}) as r:
        await r.read()
        return r.status


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'{"type": "message", "value": ' + b"[" * 100 + b"]" * 100 + b"}",
        b'{"type": "message", "channelData": ' + b'{"x":' * 200 + b"1" + b"}" * 201,
        b"\xff\xfe{}",
        b'{"type": 1}',
        b'{"type": "message", "from": "x", "conversation": 3, "channelData": []}',
        b'{"type": "message", "timestamp": "not a date", "text": 5}',
        b'{"type": "message", "attachments": {"a": 1}, "entities": "x"}',
        b"null",
        b"",
    ],
)
async def test_deep_or_hostile_json_is_4xx_never_500(bot: Bot, body: bytes) -> None:
    status = await raw_post(bot, body)
    assert 400 <= status < 500, status


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "type",
    "id",
    "text",
    "value",
    "from",
    "recipient",
    "conversation",
    "channelData",
    "entities",
    "attachments",
    "replyToId",
    "name",
    "timestamp",
    "channelId",
    "locale",
    "membersAdded",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_fuzzed_activities_never_get_a_500(bot: Bot, connector: FakeConnector, data: st.DataObject) -> None:
    """Valid activities with fields replaced by arbitrary JSON (serviceUrl kept on loopback: no network)."""
    base = data.draw(st.sampled_from(["message", "submit", "execute", "install"]))
    activity = {
        "message": lambda: act.message("/help", service_url=connector.url),
        "submit": lambda: act.submit({"verb": "book.submit"}, reply_to="1", service_url=connector.url),
        "execute": lambda: act.execute("concern.ack", {"ref": "C-1"}, reply_to="1", service_url=connector.url),
        "install": lambda: act.installation(service_url=connector.url),
    }[base]()
    for name in data.draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True)):
        activity[name] = data.draw(JSON)
    status = await raw_post(bot, json.dumps(activity).encode())
    assert status != 500 and status < 502, status


async def test_unauthenticated_ids_reach_the_log_escaped(
    bot: Bot, connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    activity = from_tenant(act.message("/help", service_url=connector.url), "evil\n2026-11-23 INFO forged line")
    activity["id"] = "x\r\nINFO bot.app forged"
    with caplog.at_level(logging.INFO):
        assert (await bot.post(activity))[0] == 403
    assert caplog.records and not any("\n" in r.getMessage() or "\r" in r.getMessage() for r in caplog.records)


async def test_a_burst_beyond_the_turn_limit_is_queued_not_refused(bot: Bot, connector: FakeConnector) -> None:
    import asyncio

    limit = bot.services.settings.max_turns
    assert limit > 0
    statuses = await asyncio.gather(
        *(bot.post(act.message("/help", service_url=connector.url)) for _ in range(limit * 3))
    )
    assert [s for s, _ in statuses] == [200] * (limit * 3)
    assert len(connector.cards()) == limit * 3
