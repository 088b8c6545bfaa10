"""Issue 10's findings over HTTP, one test each: refused, audited (who, what, which record, why), and
nothing pupil-related in any shared conversation."""

from __future__ import annotations

from datetime import timedelta

from bot.audit import Audit, AuditEntry
from tests.support.bot import Bot, book, only_session, set_up_channels
from tests.support.forms import CONCERN, END
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector


async def _refusals(bot: Bot) -> list[AuditEntry]:
    return [
        e
        for e in await Audit(bot.services.store).entries()
        if e.action.startswith("refused") or e.action.endswith(".refused")
    ]


def _shared_text(connector: FakeConnector, start: int = 0) -> str:
    return "\n".join(
        card_text(s.card) for s in connector.sent[start:] if s.card and not s.conversation.startswith("a:personal-")
    )


async def test_end_typed_in_a_channel_sends_the_form_to_personal_chat(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    await book(bot, connector)
    s = await only_session(bot)
    await bot.post(act.accept(s.ref, reply_to="1", service_url=connector.url))
    await bot.services.tasks.drain()
    bot.services.clock.at = s.booking.start + timedelta(minutes=5)  # type: ignore[attr-defined]  # /end is for a session that has started
    start = len(connector.sent)
    await bot.post(act.message(f"/end {s.ref}", service_url=connector.url, scope="channel"))
    [pointer] = [x for x in connector.sent[start:] if x.conversation.startswith(act.TEAM)]
    assert "personal chat" in card_text(pointer.card)
    assert "End session" in card_text(connector.posts("a:personal-29:tara")[-1].card)
    # the safeguarding follow-up (a concern form naming the pupil) goes the same way
    await bot.post(
        act.submit(
            {"verb": "end.submit", "ref": s.ref, **END, "outcome": "ended_early", "early_reason": "safeguarding"},
            reply_to=pointer.activity_id,
            service_url=connector.url,
            scope="channel",
        )
    )
    assert "Pip" not in _shared_text(connector, start) and "Quinn" not in _shared_text(connector, start)
    assert "Raise a safeguarding concern" in card_text(connector.posts("a:personal-29:tara")[-1].card)


async def test_a_forged_concern_session_never_reaches_the_safeguarding_channel(
    bot: Bot, connector: FakeConnector
) -> None:
    await set_up_channels(bot, connector)
    start = len(connector.sent)
    forged = "Pip Example said [click](http://example.org/x)"
    await bot.post(act.message("/concern", service_url=connector.url))
    form = connector.posts("a:personal-29:tara")[-1]
    await bot.post(
        act.submit(
            {"verb": "concern.submit", **CONCERN, "session": forged},
            reply_to=form.activity_id,
            service_url=connector.url,
        )
    )
    await bot.services.tasks.drain()
    assert await bot.services.concerns.all() == []
    assert "not one of yours" in card_text(connector.sent[-1].card)
    assert "Pip" not in _shared_text(connector, start) and "click" not in _shared_text(connector, start)


async def test_every_role_refusal_is_audited(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    await book(bot, connector)
    s = await only_session(bot)
    url = connector.url
    attempts = [
        act.message(
            "/setup safeguarding", service_url=url, user="tara", scope="channel", channel=act.SAFEGUARDING
        ),  # a teacher sets up
        act.accept(s.ref, reply_to="1", service_url=url, user="pia"),  # forged accept
        act.message("/book", service_url=url, user="pia"),  # a pupil books
        act.message(f"/end {s.ref}", service_url=url, user="oli"),  # another teacher ends someone else's session
        act.submit(
            {"verb": "session.cancel", "ref": s.ref}, reply_to="1", service_url=url, user="oli"
        ),  # and cancels it
        act.message("/today", service_url=url, user="tara"),  # a teacher asks for SLT's view
    ]
    for a in attempts:
        status, _ = await bot.post(a)
        assert status == 200
    refusals = await _refusals(bot)
    assert len(refusals) == len(attempts)
    whats = [(e.who, e.action, e.record) for e in refusals]
    assert ("aad-tara", "command.setup.refused", "-") in whats
    assert ("aad-pia", "second.accept.refused", s.ref) in whats
    assert ("aad-pia", "command.book.refused", "-") in whats
    assert ("aad-oli", "command.end.refused", s.ref) in whats
    assert ("aad-oli", "session.cancel.refused", s.ref) in whats
    assert all(e.detail for e in refusals)  # why, always


async def test_a_role_refusal_says_why_and_what_to_do(bot: Bot, connector: FakeConnector) -> None:
    await bot.post(act.message("/book", service_url=connector.url, user="pia"))
    text = card_text(connector.sent[-1].card)
    assert "only for school staff" in text and "ask your Chaperone admin" in text
