"""The safeguarding boundary as a property: whatever anyone types or clicks in a channel or a group
chat, no pupil's name and no narrative reaches any shared conversation (issue 10, item 2)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.commands.registry import build_router
from tests.support.bot import Bot, book, only_session, set_up_channels
from tests.support.forms import CONCERN, CSV, END, FORM
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

USERS = ("tara", "sam", "dee")  # the organiser, SLT and the DSL: between them every role guard passes somewhere
STRANGER = "Zed Stranger"
NARRATIVE = (
    "Pip said something worrying about home",
    "I don't want to go home tonight",
    "Went well",
    "hid a phone under the desk",
)
PUPILS = [line.split(",")[0] for line in CSV.splitlines()[1:]] + [STRANGER]
FORBIDDEN = re.compile("|".join(re.escape(s) for s in [*PUPILS, *(p.split()[0] for p in PUPILS), *NARRATIVE]))


def _payload(verb: str, session_ref: str, concern_ref: str) -> dict[str, Any]:
    """Every field any form has, filled with pupils' names and narrative: a forged submission."""
    ref = concern_ref if verb.startswith("concern.") and verb != "concern.submit" else session_ref
    return {
        **FORM,
        **END,
        **CONCERN,
        "verb": verb,
        "ref": ref,
        "session": session_ref,
        "others": f"{STRANGER}, zed.parent@example.com",
        "note": NARRATIVE[2],
        "where": NARRATIVE[3],
        "pupil_other": STRANGER,
        "early_reason": "safeguarding",
        "outcome": "ended_early",
    }


def _leaks(connector: FakeConnector, start: int) -> list[str]:
    out = []
    for s in connector.sent[start:]:
        if s.conversation.startswith("a:personal-"):
            continue
        text = card_text(s.card) if s.card else json.dumps(s.body)
        found = FORBIDDEN.findall(text + " " + str(s.body.get("text") or ""))
        if found:
            out.append(f"{s.method} {s.conversation}: {sorted(set(found))} in {text[:160]!r}")
    return out


@pytest.mark.parametrize("scope", ["channel", "groupChat"])
async def test_no_pupil_name_or_narrative_reaches_a_shared_conversation(
    bot: Bot, connector: FakeConnector, scope: str
) -> None:
    await set_up_channels(bot, connector)
    await book(bot, connector)
    s = await only_session(bot)
    await bot.post(act.accept(s.ref, reply_to="1", service_url=connector.url))
    await bot.post(act.message("/concern", service_url=connector.url))
    form = connector.posts("a:personal-29:tara")[-1]
    await bot.post(
        act.submit({"verb": "concern.submit", **CONCERN}, reply_to=form.activity_id, service_url=connector.url)
    )
    await bot.services.tasks.drain()
    [concern] = await bot.services.concerns.all()
    start = len(connector.sent)
    assert not _leaks(connector, 0), "the set-up itself leaked"

    router = build_router()
    where = {"scope": scope, "channel": act.TEAM if scope == "channel" else None}
    bodies: list[Any] = []
    for user in USERS:
        for name in [*router.commands, "frobnicate"]:  # aliases reach the same handlers
            for args in ("", f" {s.ref}", f" {STRANGER}"):
                status, _ = await bot.post(act.message(f"/{name}{args}", service_url=connector.url, user=user, **where))
                assert status == 200
        for verb in [*router.verbs, "no.such.verb"]:
            data = _payload(verb, s.ref, concern.ref)
            await bot.post(act.submit(data, reply_to="1", service_url=connector.url, user=user, **where))
            status, body = await bot.post(
                act.execute(
                    verb,
                    {k: v for k, v in data.items() if k != "verb"},
                    reply_to="1",
                    service_url=connector.url,
                    user=user,
                    **where,
                )
            )
            bodies.append(body)
    await bot.services.tasks.drain()

    assert len(connector.sent) > start + 50  # the drive really produced traffic
    leaks = _leaks(connector, start)
    leaks += [f"invoke answer: {FORBIDDEN.findall(json.dumps(b))}" for b in bodies if FORBIDDEN.search(json.dumps(b))]
    assert not leaks, "\n".join(leaks[:20])
    # and the private things did happen, in personal chats only
    assert any(
        s.card and FORBIDDEN.search(card_text(s.card))
        for s in connector.sent[start:]
        if s.conversation.startswith("a:personal-")
    )
