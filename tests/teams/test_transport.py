"""The transport through the real app and CloudAdapter: routes, auth, translation, rendering."""

from __future__ import annotations

import pytest

from tests.support.bot import Bot
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector


async def test_healthz(bot: Bot) -> None:
    async with bot.session.get(f"{bot.url}/healthz") as r:
        assert r.status == 200 and (await r.json())["status"] == "ok"


@pytest.mark.parametrize("app_id", ["11111111-2222-3333-4444-555555555555"])
@pytest.mark.parametrize(
    "header", [None, "Bearer not.a.jwt", "Bearer abc", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"]
)
async def test_missing_or_malformed_token_is_401_never_500(
    bot: Bot, connector: FakeConnector, header: str | None
) -> None:
    status, _ = await bot.post(
        act.message("/help", service_url=connector.url), headers={"Authorization": header} if header else {}
    )
    assert status == 401
    assert connector.sent == []


async def test_malformed_bodies_are_4xx(bot: Bot) -> None:
    async with bot.session.post(
        f"{bot.url}/api/messages", data="{not json", headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
    async with bot.session.post(f"{bot.url}/api/messages", data="hello", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415
    async with bot.session.post(f"{bot.url}/api/messages", json=[1, 2]) as r:
        assert r.status == 400


@pytest.mark.parametrize("text", ["/help", "help", "HELP", "  /help  "])
async def test_command_forms_in_personal_chat(bot: Bot, connector: FakeConnector, text: str) -> None:
    status, _ = await bot.post(act.message(text, service_url=connector.url))
    assert status == 200
    assert "What you can do" in card_text(connector.cards()[-1])


async def test_mention_in_a_channel_reaches_the_command(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/help", service_url=connector.url, scope="channel"))
    [post] = connector.posts()
    assert post.conversation.startswith(act.TEAM) and "What you can do" in card_text(post.card)


async def test_unknown_command_gets_the_help_card(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/teleport", service_url=connector.url))
    text = card_text(connector.cards()[-1])
    assert "I don't know" in text and "/book" in text


async def test_actor_email_comes_from_teams_and_is_cached(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/help", service_url=connector.url, user="ivy"))
    await bot.post(act.message("/help", service_url=connector.url, user="ivy"))
    assert connector.member_calls == 1
    assert "/setup" in card_text(connector.cards()[-1])  # the admin role came from the email Teams returned


async def test_invoke_body_is_returned_as_it_is(bot: Bot, connector: FakeConnector) -> None:
    status, body = await bot.post(act.execute("no.such.verb", {}, reply_to="123", service_url=connector.url))
    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "out of date" in card_text(body["value"])


async def test_submit_replaces_the_clicked_card_in_place(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/book", service_url=connector.url))
    form = connector.posts()[-1]
    await bot.post(
        act.submit(
            {"verb": "book.submit", "type": "group", "title": "Kept"},
            reply_to=form.activity_id,
            service_url=connector.url,
        )
    )
    # a malformed submission: the form again, in place, saying what to change, with what was typed kept
    [update] = connector.updates(form.activity_id)
    assert "Missing" in card_text(update.card) and "Kept" in card_text(update.card)


async def test_private_reply_from_a_channel_goes_to_the_personal_chat(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/concern", service_url=connector.url, scope="channel"))
    [pointer] = [s for s in connector.sent if s.conversation.startswith(act.TEAM)]  # one line, naming nothing
    assert "personal chat" in card_text(pointer.card) and "Raise" not in card_text(pointer.card)
    [created] = connector.created
    assert created["members"][0]["id"] == "29:tara" and not created.get("isGroup")
    [form] = connector.posts("a:personal-29:tara")
    assert "Raise a safeguarding concern" in card_text(form.card)


async def test_installation_refreshes_a_stored_service_url(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(
        act.message(
            "/setup safeguarding", service_url=connector.url, user="ivy", scope="channel", channel=act.SAFEGUARDING
        )
    )
    rec = await bot.services.store.get("conversations", "channel:safeguarding")
    assert rec.doc["conversation_id"] == act.SAFEGUARDING
    await bot.services.store.upsert(
        "conversations", "channel:safeguarding", {**rec.doc, "service_url": "http://127.0.0.1:9/moved"}
    )
    await bot.post(act.installation(service_url=connector.url, channel=act.SAFEGUARDING))
    rec = await bot.services.store.get("conversations", "channel:safeguarding")
    assert rec.doc["service_url"] == connector.url


async def test_messenger_posts_and_updates_in_a_channel(bot: Bot, connector: FakeConnector) -> None:
    from bot.sessions.cards import notice_card

    await bot.post(act.message("/setup slt", service_url=connector.url, user="ivy", scope="channel", channel=act.SLT))
    posted = await bot.services.messenger.post("channel:slt", notice_card("Hello", "first", shared=True))
    await bot.services.messenger.update(posted, notice_card("Hello", "second", shared=True))
    [created] = [c for c in connector.created if c.get("isGroup")]
    assert created["channelData"]["channel"]["id"] == act.SLT
    [update] = connector.updates(posted.activity_id)
    assert update.conversation.startswith(act.SLT) and "second" in card_text(update.card)


async def test_messenger_refuses_a_private_card_for_a_channel_and_audits_it(bot: Bot, connector: FakeConnector) -> None:
    from bot.audit import Audit
    from bot.errors import NotPermitted
    from bot.sessions.cards import notice_card

    await bot.post(act.message("/setup slt", service_url=connector.url, user="ivy", scope="channel", channel=act.SLT))
    before = len(connector.sent)
    with pytest.raises(NotPermitted):
        await bot.services.messenger.post("channel:slt", notice_card("Pip Example", "private"))
    posted = await bot.services.messenger.post("channel:slt", notice_card("Hello", "shared", shared=True))
    with pytest.raises(NotPermitted):
        await bot.services.messenger.update(
            posted, {"type": "AdaptiveCard", "version": "1.5", "body": []}
        )  # unmarked counts as private
    assert len(connector.sent) == before + 1
    refused = [e for e in await Audit(bot.services.store).entries() if e.action == "refused.private_card"]
    assert len(refused) == 2 and {e.record for e in refused} >= {"channel:slt"}


def test_the_faster_retry_policy_is_the_same_policy() -> None:
    from msrest.universal_http.requests import ClientRetryPolicy

    import bot.teams.adapter  # noqa: F401 - applies the patch

    expected = [i for i in range(999) if i == 408 or (i >= 500 and i not in (501, 505))]
    assert ClientRetryPolicy().policy.status_forcelist == expected


async def test_stored_channel_references_carry_the_bot_id(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/setup slt", service_url=connector.url, user="ivy", scope="channel", channel=act.SLT))
    rec = await bot.services.store.get("conversations", "channel:slt")
    assert rec.doc["bot_id"] == act.BOT["id"]


async def test_stored_references_are_read_once_per_turn_at_most(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/help", service_url=connector.url))
    reads = []
    store = bot.services.store
    real_get = store.get

    async def counting_get(table: str, key: str) -> object:
        if table == "conversations":
            reads.append(key)
        return await real_get(table, key)

    store.get = counting_get
    for _ in range(3):
        await bot.post(act.message("/help", service_url=connector.url))
    assert reads == []  # the reference this process stored is known; unchanged, it is not written again


async def test_a_channel_post_stores_nothing_and_its_thread_can_still_be_updated(
    bot: Bot, connector: FakeConnector
) -> None:
    from bot.sessions.cards import notice_card

    await bot.post(act.message("/setup slt", service_url=connector.url, user="ivy", scope="channel", channel=act.SLT))
    before = {r.key for r in await bot.services.store.query("conversations")}
    posted = await bot.services.messenger.post("channel:slt", notice_card("Hello", "first", shared=True))
    assert {r.key for r in await bot.services.store.query("conversations")} == before
    await bot.services.messenger.update(posted, notice_card("Hello", "second", shared=True))
    [update] = connector.updates(posted.activity_id)
    assert update.conversation == f"{act.SLT};messageid={posted.activity_id}"


async def test_a_thread_stored_the_old_way_can_still_be_updated(bot: Bot, connector: FakeConnector) -> None:
    from bot.chat import CardRef
    from bot.sessions.cards import notice_card

    thread = f"{act.SLT};messageid=77"
    doc = {
        "service_url": connector.url,
        "conversation_id": thread,
        "kind": "channel",
        "tenant_id": act.TENANT,
        "team_id": act.TEAM,
        "channel_id": act.SLT,
        "bot_id": act.BOT["id"],
        "user_id": None,
    }
    await bot.services.store.upsert("conversations", f"conv:{thread}", doc)
    await bot.services.messenger.update(
        CardRef(conversation_key=f"conv:{thread}", activity_id="77"), notice_card("Hello", "again", shared=True)
    )
    [update] = connector.updates("77")
    assert update.conversation == thread


async def test_a_throttled_reply_is_sent_again_once_accepted(bot: Bot, connector: FakeConnector) -> None:
    connector.fail_next = [429]
    status, _ = await bot.post(act.message("/help", service_url=connector.url))
    assert status == 200
    assert len(connector.cards()) == 1 and "What you can do" in card_text(connector.cards()[-1])
