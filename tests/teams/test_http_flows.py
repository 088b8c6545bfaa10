"""End to end over HTTP: Teams-shaped activities into the real app and CloudAdapter, every reply,
card update and proactive post recorded by the loopback Bot Connector."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.audit import Audit
from bot.sessions.model import State
from tests.support.bot import Bot, book, only_session, set_up_channels
from tests.support.forms import CONCERN, END, FORM
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector


async def test_setup_needs_an_admin(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(
        act.message(
            "/setup safeguarding", service_url=connector.url, user="tara", scope="channel", channel=act.SAFEGUARDING
        )
    )
    assert "Not allowed" in card_text(connector.cards()[-1])
    assert not await bot.services.messenger.has("channel:safeguarding")


async def test_refused_booking_shows_the_sentence_in_place(bot: Bot, connector: FakeConnector) -> None:
    form_id = await book(bot, connector, {**FORM, "time": "16:30"})
    [update] = connector.updates(form_id)
    assert "All sessions to take place within school hours." in card_text(update.card)
    assert await bot.services.sessions.all() == []


async def test_book_then_the_second_adult_race_then_confirmed(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    form_id = await book(bot, connector)
    assert "waiting for a second adult" in card_text(connector.updates(form_id)[-1].card).lower()
    s = await only_session(bot)
    [register] = connector.channel_posts(act.SAFEGUARDING)
    [request] = [p for p in connector.channel_posts(act.SLT) if "Second adult needed" in card_text(p.card)]
    assert "P.E., Q.E." in card_text(register.card) and "Pip" not in card_text(register.card)

    # Sam (SLT) and Dee (listed as SLT by AAD id) click Accept at the same moment: exactly one wins
    results = await asyncio.gather(
        bot.post(act.accept(s.ref, reply_to=request.activity_id, service_url=connector.url)),
        bot.post(act.accept(s.ref, reply_to=request.activity_id, service_url=connector.url, user="dee")),
    )
    texts = [card_text(body["value"]) for status, body in results if status == 200]
    assert len(texts) == 2
    assert sum("You are the second adult" in t for t in texts) == 1 and sum("already covered" in t for t in texts) == 1

    await bot.services.tasks.drain()
    s = await only_session(bot)
    assert s.state is State.SCHEDULED
    status_card = connector.updates(form_id)[-1].card
    assert "Join the Teams meeting" in card_text(status_card) or "local test link" in card_text(status_card)
    assert "Before the session" in card_text(status_card)
    assert f"Covered by {s.second_adult.name}" in card_text(connector.updates(request.activity_id)[-1].card)
    register_updates = connector.updates(register.activity_id)
    assert "Scheduled" in card_text(register_updates[-1].card)
    assert len(connector.channel_posts(act.SAFEGUARDING)) == 1  # one register card, updated in place

    # the winner's click again gets the same answer; anyone else's later click is answered politely
    winner, loser = ("sam", "dee") if s.second_adult.name == "Sam Senior" else ("dee", "sam")
    status, body = await bot.post(
        act.accept(s.ref, reply_to=request.activity_id, service_url=connector.url, user=winner)
    )
    assert status == 200 and "You are the second adult" in card_text(body["value"])
    status, body = await bot.post(
        act.accept(s.ref, reply_to=request.activity_id, service_url=connector.url, user=loser)
    )
    assert status == 200 and "already covered" in card_text(body["value"])


async def test_ineligible_accept_is_refused(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    await book(bot, connector)
    s = await only_session(bot)
    status, body = await bot.post(
        act.execute("second.accept", {"ref": s.ref}, reply_to="x", service_url=connector.url, user="oli")
    )
    assert status == 200 and "does not qualify" in card_text(body["value"])
    assert (await only_session(bot)).state is State.AWAITING_SECOND_ADULT


async def test_join_as_second_by_reference(bot: Bot, connector: FakeConnector) -> None:
    await book(bot, connector)
    s = await only_session(bot)
    await bot.post(act.message("/join-as-second", service_url=connector.url, user="sam"))
    assert s.ref in card_text(connector.cards("a:personal-29:sam")[-1])
    await bot.post(act.message(f"/join-as-second {s.ref}", service_url=connector.url, user="sam"))
    assert "You are the second adult" in card_text(connector.cards("a:personal-29:sam")[-1])


@pytest.mark.parametrize("profile_id", ["003-crossways"])
async def test_no_second_adult_needed_under_crossways(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    form_id = await book(bot, connector)
    await bot.services.tasks.drain()
    assert (await only_session(bot)).state is State.SCHEDULED
    assert "scheduled" in card_text(connector.updates(form_id)[-1].card).lower()
    assert [p for p in connector.channel_posts(act.SLT)] == []


@pytest.mark.parametrize("profile_id", ["001-recorded"])
async def test_recorded_profile_refuses_a_one_to_one_lesson(bot: Bot, connector: FakeConnector) -> None:
    form_id = await book(bot, connector, {**FORM, "type": "one_to_one", "pupils": "Pip Example"})
    text = card_text(connector.updates(form_id)[-1].card)
    assert "1:1 sessions are only for music or sen or therapy" in text and "music teachers, SEN lessons" in text


async def test_malformed_submission_stores_nothing(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.submit({"verb": "book.submit", "date": "yesterday"}, reply_to="1", service_url=connector.url))
    assert "Nothing is booked yet" in card_text(connector.updates("1")[-1].card)
    await bot.post(act.submit({"no": "verb"}, reply_to="1", service_url=connector.url))
    assert "out of date" in card_text(connector.cards()[-1])
    assert await bot.services.sessions.all() == []


async def scheduled(bot: Bot, connector: FakeConnector) -> Any:
    await set_up_channels(bot, connector)
    await book(bot, connector)
    s = await only_session(bot)
    await bot.post(act.message(f"/join-as-second {s.ref}", service_url=connector.url, user="sam"))
    await bot.services.tasks.drain()
    s = await only_session(bot)
    bot.services.clock.at = s.booking.start + timedelta(minutes=5)  # /end is for a session that has started
    return s


async def test_end_completed_updates_the_register_in_place(bot: Bot, connector: FakeConnector) -> None:
    s = await scheduled(bot, connector)
    await bot.post(act.message(f"/end {s.ref}", service_url=connector.url))
    end_form = connector.posts("a:personal-29:tara")[-1]
    await bot.post(
        act.submit(
            {"verb": "end.submit", "ref": s.ref, **END}, reply_to=end_form.activity_id, service_url=connector.url
        )
    )
    await bot.services.tasks.drain()  # the register update is an outbox job
    assert "closed in the register" in card_text(connector.updates(end_form.activity_id)[-1].card)
    register = connector.updates(s.register_card.activity_id)[-1]
    assert "Completed" in card_text(register.card) and "1 of 2 pupils" in card_text(register.card)
    assert len(connector.channel_posts(act.SAFEGUARDING)) == 1


async def test_safeguarding_end_then_concern_then_dsl(bot: Bot, connector: FakeConnector) -> None:
    s = await scheduled(bot, connector)
    await bot.post(act.message(f"/end {s.ref}", service_url=connector.url))
    end_form = connector.posts("a:personal-29:tara")[-1]
    await bot.post(
        act.submit(
            {"verb": "end.submit", "ref": s.ref, **END, "outcome": "ended_early", "early_reason": "safeguarding"},
            reply_to=end_form.activity_id,
            service_url=connector.url,
        )
    )
    await bot.services.tasks.drain()  # the register update is an outbox job
    concern_form = connector.posts("a:personal-29:tara")[-1]
    assert "Raise a safeguarding concern" in card_text(concern_form.card) and s.ref in card_text(concern_form.card)
    assert "Ended early" in card_text(connector.updates(s.register_card.activity_id)[-1].card)

    await bot.post(
        act.submit(
            {"verb": "concern.submit", **CONCERN, "session": s.ref},
            reply_to=concern_form.activity_id,
            service_url=connector.url,
        )
    )
    assert "is recorded" in card_text(connector.updates(concern_form.activity_id)[-1].card)
    [c] = await bot.services.concerns.all()
    alert = next(p for p in connector.channel_posts(act.SAFEGUARDING) if "Safeguarding concern" in card_text(p.card))
    for secret in ("Pip", "worrying", "go home"):
        assert secret not in card_text(alert.card)

    status, body = await bot.post(
        act.execute(
            "concern.open",
            {"ref": c.ref},
            reply_to=alert.activity_id,
            service_url=connector.url,
            user="sam",
            scope="channel",
            channel=act.SAFEGUARDING,
        )
    )
    assert status == 200 and "Only the DSL" in card_text(body["value"])
    status, body = await bot.post(
        act.execute(
            "concern.ack",
            {"ref": c.ref},
            reply_to=alert.activity_id,
            service_url=connector.url,
            user="dee",
            scope="channel",
            channel=act.SAFEGUARDING,
        )
    )
    assert "Acknowledged by Dee Lead" in card_text(body["value"])
    await bot.services.tasks.drain()
    assert "Acknowledged by Dee Lead" in card_text(connector.updates(alert.activity_id)[-1].card)
    status, body = await bot.post(
        act.execute(
            "concern.open",
            {"ref": c.ref},
            reply_to=alert.activity_id,
            service_url=connector.url,
            user="dee",
            scope="channel",
            channel=act.SAFEGUARDING,
        )
    )
    detail = [card_text(x) for x in connector.cards("a:personal-29:dee")]
    assert any("I don't want to go home tonight" in t for t in detail)
    assert not any("go home" in card_text(x) for x in connector.cards(act.SAFEGUARDING))
    actions = [e.action for e in await Audit(bot.services.store).entries(c.ref)]
    assert actions == [
        "concern.raised",
        "concern.notified",
        "concern.open.refused",
        "concern.acknowledged",
        "concern.viewed",
    ]


async def test_concern_typed_in_a_channel_leaves_only_a_pointer_there(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/concern", service_url=connector.url, scope="channel"))
    [pointer] = connector.cards(act.TEAM)
    assert "personal chat" in card_text(pointer) and "concern" not in card_text(pointer).lower()
    form = connector.posts("a:personal-29:tara")[-1]
    await bot.post(
        act.submit({"verb": "concern.submit", **CONCERN}, reply_to=form.activity_id, service_url=connector.url)
    )
    assert len(connector.cards(act.TEAM)) == 1
    assert len(await bot.services.concerns.all()) == 1
