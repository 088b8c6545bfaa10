"""Lock before invite, through the real msgraph-sdk against the loopback Graph: no family is ever on
the event until the protocol's settings have been applied and read back equal; when they cannot be,
SLT (and the DSL) are told, the session waits visibly, and cancel cancels the event."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.chat import SAFEGUARDING_CHANNEL, SLT_CHANNEL
from bot.sessions.model import State
from tests.fakes.graph_server import Call, FakeGraph
from tests.support.harness import Harness
from tests.support.meetings import book_and_accept, watcher
from tests.support.outbox import later, settle
from tests.support.schemas import card_text

FAMILIES = ("parent.pip@example.com", "parent.quinn@example.com")
PUPILS = ("Pip Example", "Quinn Example")


def names_a_family(call: Call) -> bool:
    return any(f in json.dumps(call.body or {}) for f in FAMILIES)


def sequence(graph: FakeGraph) -> list[str]:
    """Each call as METHOD and path, ids replaced by {id} and the query by (filter)."""
    out = []
    for c in graph.calls:
        path, _, query = c.path.partition("?")
        path = re.sub(r"/(event|meeting)-\d+", "/{id}", path.replace("/users/aad-tara", ""))
        out.append(f"{c.method} {path}{' (filter)' if '$filter' in query else ''}")
    return out


async def test_families_are_added_only_after_the_settings_read_back(gh: Harness, graph: FakeGraph) -> None:
    ref = await book_and_accept(gh)
    await gh.services.tasks.drain()
    assert sequence(graph) == [
        "POST /events",  # the event with its Teams meeting: staff only
        "GET /onlineMeetings (filter)",  # its meeting, by join URL
        "PATCH /onlineMeetings/{id}",  # the protocol's settings
        "GET /onlineMeetings/{id}",  # read back
        "GET /events/{id}",  # who is on the event already
        "PATCH /events/{id}",  # the families: Exchange sends their invitations now
    ]
    first_family = next(i for i, c in enumerate(graph.calls) if names_a_family(c))
    assert first_family == len(graph.calls) - 1
    created = graph.calls[0].body
    assert {a["emailAddress"]["address"] for a in created["attendees"]} == {
        "sam.senior@example.org",
        "sian.second@example.org",
    }
    assert created["hideAttendees"] is True
    s, _ = await gh.services.sessions.get(ref)
    assert s.state is State.SCHEDULED and s.meeting is not None and s.meeting.locked and s.meeting.families_invited
    steps = [e.action for e in await gh.services.audit.entries(ref)]
    assert steps[-4:] == ["meeting.event_created", "meeting.locked", "meeting.families_invited", "session.scheduled"]
    assert not any(p in e.detail for e in await gh.services.audit.entries(ref) for p in PUPILS + FAMILIES)


FAULTS: dict[str, Any] = {
    "403 no access policy": lambda g: g.fail("403", times=10_000, on="/onlineMeetings/", method="PATCH"),
    "500 longer than the retries": lambda g: g.fail("500", times=10_000, on="/onlineMeetings/", method="PATCH"),
    "read-back differs": lambda g: g.ignore_settings.update({"allowMeetingChat", "lobbyBypassSettings"}),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_settings_that_cannot_be_applied_invite_no_family(gh: Harness, graph: FakeGraph, fault: str) -> None:
    FAULTS[fault](graph)
    ref = await book_and_accept(gh)
    m = watcher(gh)
    slt = card_text(await m.wait_post(SLT_CHANNEL, "could not be applied"))
    dsl = card_text(await m.wait_post(SAFEGUARDING_CHANNEL, "could not be applied"))
    for told in (slt, dsl):
        assert ref in told and "Tara Teacher" in told and "What IT must do" in told
        assert not any(p in told or p.split()[0] in told for p in PUPILS)
    status = card_text(await m.wait_update("form-1", "none will be until the settings are in place"))
    assert "keeps trying" in status and "the DSL" in status
    s, _ = await gh.services.sessions.get(ref)
    assert s.state is State.CONFIRMED and s.meeting is not None and not s.meeting.families_invited
    assert s.problem is not None and s.problem.code == "not_locked_safeguarding"

    await gh.act("tara", "session.cancel", {"ref": ref, "confirmed": "yes"})
    await gh.services.tasks.drain()  # the retry loop sees the cancel and stops
    [event] = graph.events.values()
    assert event["isCancelled"] and ref in event["cancelComment"]
    assert not any(names_a_family(c) for c in graph.calls)  # no request ever named a family
    s, _ = await gh.services.sessions.get(ref)
    assert s.state is State.CANCELLED and s.problem is not None and s.problem.code == "cancelled_none_invited"
    assert "before any family was invited" in card_text(gh.messenger.updated("form-1")[-1])
    actions = [e.action for e in await gh.services.audit.entries(ref)]
    assert "meeting.failed" in actions and "meeting.told" in actions and "meeting.event_cancelled" in actions
    assert "meeting.families_invited" not in actions


async def test_a_lock_that_comes_good_then_invites(gh: Harness, graph: FakeGraph) -> None:
    graph.fail("500", times=5, on="/onlineMeetings/", method="PATCH")
    ref = await book_and_accept(gh)
    for _ in range(2):
        await later(gh.services, timedelta(minutes=10))  # the next attempts, each after the capped backoff
    s, _ = await gh.services.sessions.get(ref)
    assert s.state is State.SCHEDULED and s.meeting is not None and s.meeting.families_invited
    read_backs = [
        i for i, c in enumerate(graph.calls) if c.method == "GET" and "/onlineMeetings/" in c.path and c.status == 200
    ]
    first_family = next(i for i, c in enumerate(graph.calls) if names_a_family(c))
    assert read_backs and read_backs[-1] < first_family and len(graph.events) == 1
    assert any("could not be applied" in card_text(c) for c in gh.messenger.posted_to(SLT_CHANNEL))


async def test_cancel_after_families_were_invited_tells_them(gh: Harness, graph: FakeGraph) -> None:
    ref = await book_and_accept(gh)
    await gh.services.tasks.drain()
    await gh.act("tara", "session.cancel", {"ref": ref, "confirmed": "yes"})
    [event] = graph.events.values()
    assert event["isCancelled"]
    assert "families were told" in card_text(gh.messenger.updated("form-1")[-1])


async def test_a_refused_cancel_is_said_and_retried(gh: Harness, graph: FakeGraph) -> None:
    ref = await book_and_accept(gh)
    await gh.services.tasks.drain()
    graph.fail("500", times=4, on="/cancel")
    await gh.act("tara", "session.cancel", {"ref": ref, "confirmed": "yes"})
    assert "could not be withdrawn yet" in card_text(gh.messenger.updated("form-1")[-1])
    assert "still hold the invitation" in card_text(gh.messenger.updated("form-1")[-1])
    await later(gh.services, timedelta(minutes=10))  # the next attempt, after the capped backoff
    [event] = graph.events.values()
    assert event["isCancelled"]
    s, _ = await gh.services.sessions.get(ref)
    assert s.problem is not None and s.problem.code == "cancelled_families_told"
    assert "families were told" in card_text(gh.messenger.updated("form-1")[-1])


async def test_the_start_time_passing_cancels_and_tells_slt(gh: Harness, graph: FakeGraph) -> None:
    graph.fail("403", times=10_000, on="/onlineMeetings/", method="PATCH")
    ref = await book_and_accept(gh)
    m = watcher(gh)
    await m.wait_post(SLT_CHANNEL, "could not be applied")
    s, _ = await gh.services.sessions.get(ref)
    await later(gh.services, s.booking.start - gh.services.clock.now())
    told = card_text(await m.wait_post(SLT_CHANNEL, "cannot go ahead"))
    assert ref in told and not any(p in told for p in PUPILS)
    s, _ = await gh.services.sessions.get(ref)
    assert s.state is State.CANCELLED and s.problem is not None and s.problem.code == "too_late"
    assert "cannot go ahead" in card_text(gh.messenger.updated("form-1")[-1])
    [event] = graph.events.values()
    assert event["isCancelled"] and not any(names_a_family(c) for c in graph.calls)


class Gated:
    """The Graph provider, with a gate after one step: the test acts while that step's answer is on its way."""

    def __init__(self, inner: Any, step: str) -> None:
        self._inner, self._step = inner, step
        self.reached, self.gate = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name != self._step:
            return real

        async def gated(*args: Any, **kwargs: Any) -> Any:
            result = await real(*args, **kwargs)
            self.reached.set()
            await self.gate.wait()
            return result

        return gated


@pytest.mark.parametrize("step", ["create_event", "lock", "invite_families"])
async def test_a_cancel_while_a_step_is_under_way_still_cancels_the_event(
    gh: Harness, graph: FakeGraph, step: str
) -> None:
    gated = Gated(gh.services.meetings, step)
    gh.services.meetings = gated  # type: ignore[assignment]
    ref = await book_and_accept(gh, settle=False)
    await asyncio.wait_for(gated.reached.wait(), 60)  # Graph has done the step; Chaperone has not stored it yet
    await gh.act("tara", "session.cancel", {"ref": ref, "confirmed": "yes"}, settle=False)
    gated.gate.set()
    await settle(gh.services)
    [event] = graph.events.values()
    assert event["isCancelled"]
    s, _ = await gh.services.sessions.get(ref)
    assert s.state is State.CANCELLED and s.problem is not None
    families_on_event = any(names_a_family(c) for c in graph.calls)
    assert families_on_event == (step == "invite_families")
    # the card never says families were not told when an invitation may have reached them
    assert s.problem.code == ("cancelled_families_told" if step == "invite_families" else "cancelled_none_invited")
