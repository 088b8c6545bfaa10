"""The booking workflow with the Graph provider: the teacher's card says what is happening while
Graph fails, nothing is lost, and each booking ends with exactly one event and one meeting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.commands.registry import build_router
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.meetings.graph import GraphMeetings
from bot.policy.loader import bundled
from bot.services import Services
from bot.sessions.cards import register_card
from bot.sessions.model import State
from bot.store.tiny import TinyStore
from tests.fakes.graph_server import FakeGraph
from tests.support.forms import CSV, END, FORM
from tests.support.harness import Harness, school_with, setup_channels
from tests.support.messenger import RecordingMessenger
from tests.support.people import NOW
from tests.support.schemas import card_text


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


@pytest.fixture
async def h(tmp_path: Path, graph: FakeGraph, meetings: GraphMeetings, profile_id: str) -> AsyncIterator[Harness]:
    store = TinyStore(tmp_path / "data")
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    messenger = RecordingMessenger()
    services = Services(
        settings=Settings(data_dir=tmp_path / "data"),
        school=school_with(profile_id),
        profile=bundled(profile_id),
        store=store,
        meetings=meetings,
        messenger=messenger,
        clock=FixedClock(NOW),
        meeting_retry_delays=(0.0, 0.0, 0.0, 600.0),
    )
    harness = Harness(build_router(), services, messenger)
    await setup_channels(harness)
    yield harness
    await services.tasks.close()
    await store.close()


async def book_and_accept(h: Harness) -> str:
    await h.book()
    [s] = await h.services.sessions.all()
    await h.act("sam", "second.accept", {"ref": s.ref}, kind="execute")
    return s.ref


async def test_confirmed_booking_becomes_a_real_meeting(h: Harness, graph: FakeGraph) -> None:
    ref = await book_and_accept(h)
    await h.services.tasks.drain()
    s, _ = await h.services.sessions.get(ref)
    assert s.state is State.SCHEDULED and not s.meeting.local
    [event] = graph.events.values()
    assert event["transactionId"] == ref
    people = [(a["emailAddress"]["address"], a["type"]) for a in event["attendees"]]
    # Sam is both the second adult and SLT: invited once, with the stronger role
    assert sorted(people) == [
        ("parent.pip@example.com", "required"),
        ("parent.quinn@example.com", "required"),
        ("sam.senior@example.org", "required"),
        ("sian.second@example.org", "optional"),
    ]
    assert event["hideAttendees"] is True  # two families on one event
    status = card_text(h.messenger.updated("form-1")[-1])
    assert "Join the Teams meeting" in status and "waits in the lobby" in status


async def test_graph_down_for_a_while_keeps_the_booking_and_retries(h: Harness, graph: FakeGraph) -> None:
    graph.fail("503", times=4, on="/events")  # more than the SDK's own retries
    ref = await book_and_accept(h)
    await h.services.tasks.drain()
    s, _ = await h.services.sessions.get(ref)
    assert s.state is State.SCHEDULED and len(graph.events) == 1 and len(graph.meetings) == 1
    assert any("keeps trying" in card_text(c) for c in h.messenger.updated("form-1"))


async def test_dropped_connection_after_create_makes_no_second_event(h: Harness, graph: FakeGraph) -> None:
    graph.fail("die_after_create", times=1, on="/events")
    ref = await book_and_accept(h)
    await h.services.tasks.drain()
    s, _ = await h.services.sessions.get(ref)
    assert s.state is State.SCHEDULED and len(graph.events) == 1 and len(graph.meetings) == 1


async def test_access_policy_missing_tells_the_teacher_what_to_ask_for(h: Harness, graph: FakeGraph) -> None:
    graph.fail("403", times=1, on="/events")
    ref = await book_and_accept(h)
    await h.services.tasks.drain()
    told = [card_text(c) for c in h.messenger.updated("form-1")]
    assert any(
        "Teams admin must run the setup in infra/" in t and "IT have been told" in t and "keeps trying" in t
        for t in told
    )
    assert any(ref in card_text(c) and "infra/" in card_text(c) for c in h.messenger.posted_to("channel:slt"))
    s, _ = await h.services.sessions.get(ref)
    assert s.state is State.SCHEDULED and len(graph.events) == 1  # once the policy applied, the next try worked


async def test_cancel_cancels_the_event(h: Harness, graph: FakeGraph) -> None:
    ref = await book_and_accept(h)
    await h.services.tasks.drain()
    await h.act("tara", "session.cancel", {"ref": ref, "confirmed": "yes"})
    [event] = graph.events.values()
    assert event["isCancelled"] and ref in event["cancelComment"]


async def test_attendance_is_merged_into_the_register_after_end(h: Harness, graph: FakeGraph) -> None:
    ref = await book_and_accept(h)
    await h.services.tasks.drain()
    s, _ = await h.services.sessions.get(ref)
    graph.reports[s.meeting.meeting_id] = [
        {
            "emailAddress": "tara.teacher@example.org",
            "role": "Organizer",
            "identity": {"displayName": "Tara Teacher"},
            "attendanceIntervals": [
                {
                    "joinDateTime": "2026-11-25T10:00:00Z",
                    "leaveDateTime": "2026-11-25T10:45:00Z",
                    "durationInSeconds": 2700,
                }
            ],
        },
        {
            "emailAddress": "sam.senior@example.org",
            "role": "Attendee",
            "identity": {"displayName": "Sam Senior"},
            "attendanceIntervals": [
                {
                    "joinDateTime": "2026-11-25T10:00:00Z",
                    "leaveDateTime": "2026-11-25T10:15:00Z",
                    "durationInSeconds": 900,
                }
            ],
        },
        {
            "emailAddress": "parent.pip@example.com",
            "role": "Attendee",
            "identity": {"displayName": "Pat Example"},
            "attendanceIntervals": [
                {
                    "joinDateTime": "2026-11-25T10:01:00Z",
                    "leaveDateTime": "2026-11-25T10:44:00Z",
                    "durationInSeconds": 2580,
                }
            ],
        },
    ]
    h.services.clock.at = s.booking.start + timedelta(minutes=50)  # /end is for a session that has started
    await h.act("tara", "end.submit", {"ref": ref, **END, "actual_start": "10:00", "actual_end": "10:45"})
    await h.services.tasks.drain()
    s, _ = await h.services.sessions.get(ref)
    assert s.closure is not None and [r["role"] for r in s.closure.attendance] == [
        "organiser",
        "second adult",
        "family",
    ]
    assert s.closure.flags == ["second_adult_gap"]
    register = card_text(register_card(s, h.services.profile, h.services.timezone))
    assert "Second adult absent for part of the session" in register
    assert "Second adult absent" in card_text(h.messenger.updated(s.register_card.activity_id)[-1])


@pytest.mark.parametrize("profile_id", ["004-tces"])
async def test_slt_approval_turns_recording_on_in_the_real_meeting(h: Harness, graph: FakeGraph) -> None:
    await h.act("tara", "book.submit", {**FORM, "recording": "true", "chat": "true"})
    await h.services.tasks.drain()
    [s] = await h.services.sessions.all()
    assert (
        graph.meeting_for(s.ref)["allowRecording"] is False
        and graph.meeting_for(s.ref)["allowMeetingChat"] == "limited"
    )
    [event] = graph.events.values()
    assert {a["emailAddress"]["address"] for a in event["attendees"] if a["type"] == "required"} == {
        "pip@pupils.example.org",
        "quinn@pupils.example.org",
    }
    await h.act("sam", "recording.approve", {"ref": s.ref}, kind="execute")
    assert graph.meeting_for(s.ref)["allowRecording"] is True
