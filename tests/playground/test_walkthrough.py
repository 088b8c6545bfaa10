"""The README walkthrough in Microsoft's real simulator, every click pressed by its title as the person
who would press it: a refusal keeps the inputs, SLT accept, the organiser hears, Cancel asks first,
and the DSL acknowledges a concern."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.app import SERVICES
from tests.playground.client import (
    Frame,
    Playground,
    input_values,
    next_wednesday,
    set_up,
)

SAM, DEE = "user-id-sam", "user-id-dee"


def values(frame: Frame) -> dict[str, Any]:
    return input_values(frame.cards)


async def test_walkthrough_by_pressing_buttons_as_each_person(
    playground: Playground, chaperone: tuple[web.Application, int]
) -> None:
    pg = playground
    tara = pg.config["currentUser"]["id"]
    safeguarding, general = await set_up(pg)

    # Tara books with no pupil: the form comes back in place, saying why, with what she typed kept
    mark = len(pg.frames)
    await pg.say(pg.personal_chat, "/book")
    form = await pg.wait_for(lambda f: f.conversation == pg.personal_chat and "Book a session" in f.text, after=mark)
    typed = {"title": "Reading group", "date": next_wednesday(), "time": "10:00", "duration": "45", "pupils": ""}
    mark = len(pg.frames)
    await pg.press("Check and book", user=tara, inputs=typed)
    refused = await pg.wait_for(
        lambda f: f.action == "updateMessage" and f.message_id == form.message_id and "Nothing is booked yet" in f.text,
        after=mark,
    )
    kept = values(refused)
    assert (
        kept["date"] == typed["date"]
        and kept["time"] == "10:00"
        and kept["title"] == "Reading group"
        and "Choose at least one pupil" in refused.text
    )

    # ...she picks the pupils and presses again: waiting for a second adult
    mark = len(pg.frames)
    await pg.press("Check and book", user=tara, inputs={"pupils": "Pip Example,Quinn Example"})
    waiting = await pg.wait_for(
        lambda f: (
            f.action == "updateMessage"
            and f.message_id == form.message_id
            and "waiting for a second adult" in f.text.lower()
        ),
        after=mark,
    )
    ref = waiting.text.split("Session ")[1].split()[0]
    await pg.wait_for(
        lambda f: f.conversation.startswith(general) and ref in f.text and "Second adult needed" in f.text, after=mark
    )

    # Sam (SLT) presses Accept on the request in the SLT channel
    mark = len(pg.frames)
    answer = await pg.press("Accept", user=SAM, containing=ref, conversation=general)
    assert "You are the second adult" in str(answer)
    # Tara is told in her personal chat, and again when the meeting is ready
    await pg.wait_for(
        lambda f: (
            f.action == "createMessage"
            and f.conversation == pg.personal_chat
            and "A second adult accepted" in f.text
            and "Sam Senior" in f.text
        ),
        after=mark,
    )
    await pg.wait_for(
        lambda f: (
            f.action == "createMessage" and f.conversation == pg.personal_chat and "Your meeting is ready" in f.text
        ),
        after=mark,
    )
    await pg.wait_for(lambda f: f.message_id == form.message_id and "scheduled" in f.text.lower(), after=mark)

    # Cancel asks first and says who will be told; only "Yes" cancels
    mark = len(pg.frames)
    await pg.press("Cancel session", user=tara, containing=ref, conversation=pg.personal_chat)
    ask = await pg.wait_for(
        lambda f: f.message_id == form.message_id and f"Cancel session {ref}?" in f.text, after=mark
    )
    assert "Sam Senior, the second adult, gets a message" in ask.text and "no family is contacted" in ask.text
    session, _ = await chaperone[0][SERVICES].sessions.get(ref)
    assert session.open
    mark = len(pg.frames)
    await pg.press("Yes, cancel the session", user=tara, containing=ref)
    await pg.wait_for(lambda f: f.message_id == form.message_id and "Cancelled" in f.text, after=mark)

    # A concern: Tara sends it; Dee (the DSL) presses Acknowledge on the alert in the safeguarding channel
    mark = len(pg.frames)
    await pg.say(pg.personal_chat, "/concern")
    concern_form = await pg.wait_for(
        lambda f: f.conversation == pg.personal_chat and "Raise a safeguarding concern" in f.text, after=mark
    )
    category = chaperone[0][SERVICES].school.concerns.categories[0]
    mark = len(pg.frames)
    await pg.press(
        "Send to the DSL",
        user=tara,
        inputs={"pupil": "Pip Example", "category": category, "what": "Pip said something worrying.", "session": ""},
    )
    await pg.wait_for(lambda f: f.message_id == concern_form.message_id and "is recorded" in f.text, after=mark)
    alert = await pg.wait_for(
        lambda f: f.conversation.startswith(safeguarding) and "Safeguarding concern" in f.text, after=mark
    )
    assert "Pip" not in alert.text and "worrying" not in alert.text
    mark = len(pg.frames)
    acked = await pg.press("Acknowledge", user=DEE, conversation=safeguarding)
    assert "Acknowledged by Dee Lead" in str(acked)
    # Tara may not: the button refuses her and says why
    refused_ack = await pg.invoke(
        alert.post_conversation or safeguarding,
        alert.message_id,
        "concern.ack",
        {"ref": alert.text.split("\u00b7 ")[1].split()[0]},
        user=tara,
    )
    assert "DSL" in str(refused_ack)
