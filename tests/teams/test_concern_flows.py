"""Concerns over HTTP: the right person told at once and personally, routed by who the concern is about,
immediate risk repeated until acknowledged; no role for another tenant or a guest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot import background
from bot.audit import Audit
from tests.support.bot import Bot, set_up_channels
from tests.support.forms import CONCERN
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

SECRETS = ("Pip", "worrying", "go home", "Ended the session")


async def raise_concern(bot: Bot, connector: FakeConnector, **changes: str) -> Any:
    known = {c.ref for c in await bot.services.concerns.all()}
    await bot.post(act.message("/concern", service_url=connector.url))
    form = connector.posts("a:personal-29:tara")[-1]
    assert "Raise a safeguarding concern" in card_text(form.card)
    status, _ = await bot.post(
        act.submit(
            {"verb": "concern.submit", **CONCERN, **changes}, reply_to=form.activity_id, service_url=connector.url
        )
    )
    assert status == 200
    await bot.services.tasks.drain()
    [c] = [c for c in await bot.services.concerns.all() if c.ref not in known]
    return c


def alerts(connector: FakeConnector) -> list[Any]:
    return [p for p in connector.channel_posts(act.SAFEGUARDING) if "Safeguarding concern" in card_text(p.card)]


async def test_the_dsl_is_told_personally_and_mentioned_in_the_channel(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    await bot.post(
        act.message("/help", service_url=connector.url, user="dee")
    )  # the DSL has a personal chat with the bot
    c = await raise_concern(bot, connector)
    assert c.pupil_keys and c.pupil == "Pip Example"
    notices = [s for s in connector.posts("a:personal-29:dee") if s.card and c.ref in card_text(s.card)]
    assert len(notices) == 1
    text = card_text(notices[0].card)
    assert "Disclosure" in text and "Tara Teacher" in text
    for secret in SECRETS:
        assert secret not in text
    [alert] = alerts(connector)
    mentions = [e for e in alert.body.get("entities") or [] if e.get("type") == "mention"]
    assert [m["mentioned"]["id"] for m in mentions] == ["29:dee"] and "<at>Dee Lead</at>" in alert.body["text"]
    for secret in SECRETS:
        assert secret not in card_text(alert.card) and secret not in alert.body["text"]
    receipt = connector.updates()[-1]
    assert "told personally" in card_text(receipt.card)


async def test_immediate_risk_repeats_personally_until_acknowledged(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    # the DSL has only ever spoken in a channel: the bot opens a 1:1 with her (Teams id learnt from that turn)
    await bot.post(act.message("/help", service_url=connector.url, user="dee", scope="channel"))
    c = await raise_concern(bot, connector, immediate_risk="true")
    assert any(x.get("members") == [{"id": "29:dee"}] for x in connector.created)
    notices = lambda: [s for s in connector.posts("a:personal-29:dee") if s.card and c.ref in card_text(s.card)]  # noqa: E731
    assert len(notices()) == 1
    clock = bot.services.clock
    clock.at = clock.at + timedelta(minutes=2)
    await background.sweep(bot.services)
    assert len(notices()) == 1  # not yet
    clock.at = clock.at + timedelta(minutes=4)
    await background.sweep(bot.services)
    assert len(notices()) == 2 and "Reminder 1" in card_text(notices()[-1].card)
    clock.at = clock.at + timedelta(minutes=5)
    await background.sweep(bot.services)
    assert len(notices()) == 3 and "Reminder 2" in card_text(notices()[-1].card)
    status, body = await bot.post(
        act.execute(
            "concern.ack", {"ref": c.ref}, reply_to=notices()[-1].activity_id, service_url=connector.url, user="dee"
        )
    )
    assert status == 200 and "Acknowledged by Dee Lead" in card_text(body["value"])
    clock.at = clock.at + timedelta(minutes=30)
    await background.sweep(bot.services)
    assert len(notices()) == 3
    assert "Acknowledged by Dee Lead" in card_text(connector.updates(notices()[0].activity_id)[-1].card)


async def test_a_concern_about_staff_goes_to_the_head_only(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    for who in ("dee", "hana"):
        await bot.post(act.message("/help", service_url=connector.url, user=who))
    before = len(connector.channel_posts(act.SAFEGUARDING))
    c = await raise_concern(bot, connector, about="staff", category="Online conduct")
    assert not c.to_channel and c.tell == ["head"]
    assert len(connector.channel_posts(act.SAFEGUARDING)) == before  # nothing in the safeguarding channel
    assert not [
        s for s in connector.posts("a:personal-29:dee") if s.card and c.ref in card_text(s.card)
    ]  # nor to the DSL
    [notice] = [s for s in connector.posts("a:personal-29:hana") if s.card and c.ref in card_text(s.card)]
    assert "LADO" in card_text(notice.card) and "one working day" in card_text(notice.card)
    for secret in SECRETS:
        assert secret not in card_text(notice.card)
    # the DSL cannot open it; the head can, with the allegations guidance on the card
    _, body = await bot.post(
        act.execute("concern.open", {"ref": c.ref}, reply_to="x", service_url=connector.url, user="dee")
    )
    assert "not routed to you" in card_text(body["value"])
    await bot.post(
        act.execute("concern.open", {"ref": c.ref}, reply_to=notice.activity_id, service_url=connector.url, user="hana")
    )
    detail = card_text(connector.cards("a:personal-29:hana")[-1])
    assert "I don't want to go home tonight" in detail and "LADO" in detail


async def test_a_concern_about_the_head_goes_to_the_chair_and_one_about_the_dsl_bypasses_her(
    bot: Bot, connector: FakeConnector
) -> None:
    await set_up_channels(bot, connector)
    for who in ("dee", "hana"):
        await bot.post(act.message("/help", service_url=connector.url, user=who))
    c = await raise_concern(bot, connector, about="head")
    assert c.tell == ["chair"] and not c.to_channel
    assert not [s for s in connector.posts("a:personal-29:hana") if s.card and c.ref in card_text(s.card)]
    c2 = await raise_concern(bot, connector, about="dsl")
    assert c2.tell == ["head"]
    assert not [s for s in connector.posts("a:personal-29:dee") if s.card and c2.ref in card_text(s.card)]
    assert [s for s in connector.posts("a:personal-29:hana") if s.card and c2.ref in card_text(s.card)]


async def test_another_tenant_with_the_dsls_email_gets_no_role(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    c = await raise_concern(bot, connector)
    forged = act.execute("concern.open", {"ref": c.ref}, reply_to="x", service_url=connector.url, user="mallory")
    forged["channelData"]["tenant"] = {"id": "99999999-0000-0000-0000-0000000000bad"}
    forged["conversation"]["tenantId"] = "99999999-0000-0000-0000-0000000000bad"
    status, body = await bot.post(forged)
    assert status in (200, 403)
    assert status == 403 or "Only the DSL" in card_text(body["value"])
    for card in connector.cards("a:personal-29:mallory"):
        for secret in SECRETS:
            assert secret not in card_text(card)
    if status == 200:
        [refusal] = [e for e in await Audit(bot.services.store).entries(c.ref) if e.who == "aad-mallory"]
        assert refusal.action == "concern.open.refused" and refusal.detail == "another tenant"


async def test_a_guest_on_a_staff_domain_gets_no_role(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/concern", service_url=connector.url, user="gus"))
    assert "Not allowed" in card_text(connector.cards("a:personal-29:gus")[-1])
    assert not [c for c in connector.cards("a:personal-29:gus") if "Raise a safeguarding concern" in card_text(c)]
    [refusal] = [e for e in await Audit(bot.services.store).entries() if e.who == "aad-gus"]
    assert (refusal.action, refusal.detail) == ("command.concern.refused", "guest account")


async def test_a_dsl_by_entra_group_is_told_personally(bot: Bot, connector: FakeConnector) -> None:
    """Oli is in no list: the DSL group (read from a loopback Graph with a token credential) makes him a DSL."""
    from bot.config import SchoolConfig
    from bot.meetings.graph_directory import GraphDirectory
    from tests.fakes.graph_server import FakeGraph
    from tests.support.tokens import StaticToken

    graph = FakeGraph(users=set(), groups={"dsl-group-id": ["aad-oli"]}, require_token="t0ken")
    base_url = await graph.start()
    directory = GraphDirectory.with_credential(base_url, StaticToken("t0ken"))
    try:
        data = bot.services.school.model_dump()
        data["roles"]["dsl_group"] = "dsl-group-id"
        bot.services.school = SchoolConfig.model_validate(data)
        bot.services.directory = directory
        await set_up_channels(bot, connector)
        await bot.post(act.message("/help", service_url=connector.url, user="oli"))
        c = await raise_concern(bot, connector)
        [notice] = [s for s in connector.posts("a:personal-29:oli") if s.card and c.ref in card_text(s.card)]
        await bot.post(
            act.execute(
                "concern.open", {"ref": c.ref}, reply_to=notice.activity_id, service_url=connector.url, user="oli"
            )
        )
        assert "I don't want to go home tonight" in card_text(connector.cards("a:personal-29:oli")[-1])
        [viewed] = [e for e in await Audit(bot.services.store).entries(c.ref) if e.action == "concern.viewed"]
        assert viewed.who == "aad-oli" and "role=dsl via group" in viewed.detail
        assert any(call.path.startswith("/groups/dsl-group-id/transitiveMembers") for call in graph.calls)
    finally:
        await directory.close()
        await graph.stop()


async def test_the_roster_makes_the_dsl_reachable_before_she_messages_the_bot(
    bot: Bot, connector: FakeConnector
) -> None:
    await bot.post(act.installation(service_url=connector.url, user="ivy", channel=act.SAFEGUARDING))
    people = {r.key: r.doc for r in await bot.services.store.query("people")}
    assert people["aad-dee"]["user_id"] == "29:dee" and "aad-gus" not in people  # a guest is never staff
    await set_up_channels(bot, connector)
    c = await raise_concern(bot, connector)
    assert any(x.get("members") == [{"id": "29:dee"}] for x in connector.created)  # a proactive 1:1
    assert [s for s in connector.posts("a:personal-29:dee") if s.card and c.ref in card_text(s.card)]


async def test_someone_not_reachable_yet_is_told_a_minute_later(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    c = await raise_concern(bot, connector)  # nobody knows how to reach the DSL yet
    assert not connector.posts("a:personal-29:dee")
    assert "Dee" not in (alerts(connector)[0].body.get("text") or "")
    await bot.post(act.message("/help", service_url=connector.url, user="dee"))
    bot.services.clock.at += timedelta(minutes=1)  # type: ignore[attr-defined]  # the retry for whoever was not reached
    await background.sweep(bot.services)
    await background.sweep(bot.services)
    notices = [s for s in connector.posts("a:personal-29:dee") if s.card and c.ref in card_text(s.card)]
    assert len(notices) == 1
    detail = [e.detail for e in await Audit(bot.services.store).entries(c.ref) if e.action == "concern.notified"]
    assert detail == ["roles=dsl/dsl_deputy reached=0 reminder=0", "roles=dsl/dsl_deputy reached=1 reminder=0"]


@pytest.mark.parametrize("profile_id", ["002-lobby-two-staff"])
async def test_under_profile_002_a_concern_about_a_child_goes_to_the_headteacher(
    bot: Bot, connector: FakeConnector
) -> None:
    """002: "If a staff member has a safeguarding or conduct concern about a child or parent they will
    inform the headteacher immediately and record it on CPOMS"."""
    await set_up_channels(bot, connector)
    for who in ("dee", "hana"):
        await bot.post(act.message("/help", service_url=connector.url, user=who))
    c = await raise_concern(bot, connector)
    assert c.tell == ["head"]
    [notice] = [s for s in connector.posts("a:personal-29:hana") if s.card and c.ref in card_text(s.card)]
    assert "inform the headteacher immediately" in card_text(notice.card)
    for secret in SECRETS:
        assert secret not in card_text(notice.card)
