"""Through Microsoft's real Agents Playground: /book -> second-adult accept -> confirmed, started
in personal chat and in a channel, with the register in the safeguarding channel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.app import SERVICES
from bot.sessions.model import State
from tests.playground.client import Frame, Playground, next_wednesday, set_up

SAM, HANA, IVY = "user-id-sam", "user-id-hana", "user-id-ivy"


def form_values() -> dict[str, Any]:
    return {
        "verb": "book.submit",
        "title": "Reading group",
        "type": "group",
        "reason": "lesson",
        "date": next_wednesday(),
        "time": "10:00",
        "duration": "45",
        "pupils": "Pip Example,Quinn Example",
        "others": "",
        "chat": "false",
        "recording": "false",
    }


async def book_and_accept(
    pg: Playground,
    chaperone: tuple[web.Application, int],
    form: Frame,
    *,
    acceptor: str,
    general: str,
    safeguarding: str,
) -> None:
    mark = len(pg.frames)
    await pg.submit(pg.personal_chat, form.message_id, form_values())
    waiting = await pg.wait_for(
        lambda f: (
            f.action == "updateMessage"
            and f.message_id == form.message_id
            and "waiting for a second adult" in f.text.lower()
        ),
        after=mark,
    )
    ref = waiting.text.split("Session ")[1].split()[0]
    register = await pg.wait_for(
        lambda f: f.conversation == safeguarding and f"Register \u00b7 {ref}" in f.text, after=mark
    )
    request = await pg.wait_for(
        lambda f: f.conversation == general and "Second adult needed" in f.text and ref in f.text, after=mark
    )
    assert "Pip" not in register.text

    answer = await pg.invoke(
        request.post_conversation or general, request.message_id, "second.accept", {"ref": ref}, user=acceptor
    )
    assert "You are the second adult" in str(answer)
    name = pg.user(acceptor)["name"]
    await pg.wait_for(
        lambda f: f.action == "updateMessage" and f.message_id == request.message_id and f"Covered by {name}" in f.text,
        after=mark,
    )
    await pg.wait_for(
        lambda f: (
            f.action == "updateMessage"
            and f.message_id == form.message_id
            and "scheduled" in f.text.lower()
            and "Before the session" in f.text
        ),
        after=mark,
    )
    await pg.wait_for(
        lambda f: f.action == "updateMessage" and f.message_id == register.message_id and "Scheduled" in f.text,
        after=mark,
    )

    session, _ = await chaperone[0][SERVICES].sessions.get(ref)
    assert session.state is State.SCHEDULED and session.second_adult.name == name

    late = await pg.invoke(
        request.post_conversation or general,
        request.message_id,
        "second.accept",
        {"ref": ref},
        user=HANA if acceptor == SAM else SAM,
    )
    assert "already covered" in str(late)


async def test_book_in_personal_chat_then_slt_accepts(
    playground: Playground, chaperone: tuple[web.Application, int]
) -> None:
    pg = playground
    safeguarding, general = await set_up(pg)
    mark = len(pg.frames)
    await pg.say(pg.personal_chat, "/book")
    form = await pg.wait_for(lambda f: f.conversation == pg.personal_chat and "Book a session" in f.text, after=mark)
    await book_and_accept(pg, chaperone, form, acceptor=SAM, general=general, safeguarding=safeguarding)


async def test_book_from_a_channel_goes_private_then_slt_accepts(
    playground: Playground, chaperone: tuple[web.Application, int]
) -> None:
    pg = playground
    safeguarding, general = await set_up(pg)
    mark = len(pg.frames)
    await pg.say(general, "/book", mention=True)
    await pg.wait_for(lambda f: f.conversation.startswith(general) and "personal chat" in f.text, after=mark)
    form = await pg.wait_for(lambda f: f.conversation == pg.personal_chat and "Book a session" in f.text, after=mark)
    await book_and_accept(pg, chaperone, form, acceptor=HANA, general=general, safeguarding=safeguarding)
