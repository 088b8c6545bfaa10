"""People told (issue 16.4): the organiser hears when a second adult accepts and when the meeting is
ready; the second adult hears when the session is cancelled, after a confirmation that said so."""

from __future__ import annotations

from tests.support.bot import Bot, book, only_session, set_up_channels
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

TARA, SAM = "a:personal-29:tara", "a:personal-29:sam"


async def test_organiser_and_second_adult_are_told_in_personal_chat(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    await bot.post(
        act.message("/help", service_url=connector.url, user="sam")
    )  # Sam has a personal chat with Chaperone
    form_id = await book(bot, connector)
    s = await only_session(bot)
    await bot.post(act.accept(s.ref, reply_to="1", service_url=connector.url))
    await bot.services.tasks.drain()
    told = [card_text(p.card) for p in connector.posts(TARA) if p.card and p.activity_id != form_id]
    assert any("A second adult accepted" in t and "Sam Senior will be the second adult" in t for t in told)
    assert any("Your meeting is ready" in t for t in told)

    ask = await bot.post(
        act.submit({"verb": "session.cancel", "ref": s.ref}, reply_to=form_id, service_url=connector.url)
    )
    assert ask[0] == 200
    confirm = connector.updates(form_id)[-1]
    assert "Sam Senior, the second adult, gets a message" in card_text(
        confirm.card
    ) and "no family is contacted" in card_text(confirm.card)
    before = len(connector.posts(SAM))
    await bot.post(
        act.submit(
            {"verb": "session.cancel", "ref": s.ref, "confirmed": "yes"}, reply_to=form_id, service_url=connector.url
        )
    )
    await bot.services.tasks.drain()  # the outbox sends what the cancel owes
    [notice] = connector.posts(SAM)[before:]
    assert "Session cancelled" in card_text(notice.card) and s.ref in card_text(notice.card)
    assert not any(
        "Session cancelled" in card_text(p.card) for p in connector.posts(TARA) if p.card
    )  # Tara cancelled it herself
