"""/book, the second adult and /setup, dispatched through the real router, store and local meetings."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

import pytest

from bot.chat import Where
from bot.sessions.cards import status_card
from bot.sessions.model import State
from tests.support.forms import FORM
from tests.support.harness import Harness, setup_channels
from tests.support.outbox import settle
from tests.support.schemas import card_text, inputs, nodes


async def sessions(h: Harness) -> list[Any]:
    return await h.services.sessions.all()


async def test_book_shows_the_form_in_personal_chat(harness: Harness) -> None:
    reply = await harness.say("tara", "/book")
    assert "Book a session" in card_text(reply.cards[0]) and not reply.private


async def test_book_in_a_channel_sends_the_form_privately(harness: Harness) -> None:
    reply = await harness.say("tara", "<at>Chaperone</at> /book", kind="channel")
    assert "personal chat" in card_text(reply.cards[0])
    assert "Book a session" in card_text(reply.private[0])


async def test_refused_booking_reshows_the_form_with_inputs_and_sentences(harness: Harness) -> None:
    await setup_channels(harness)
    reply = await harness.act("tara", "book.submit", {**FORM, "time": "17:00"})
    text = card_text(reply.replace)
    assert "All sessions to take place within school hours." in text
    assert "Sessions must run between 08:30 and 15:30" in text
    assert any(n.get("value") == "17:00" for n in inputs(reply.replace))
    assert await sessions(harness) == [] and harness.messenger.posts == []


async def test_accepted_booking_waits_for_slt_and_posts_register_and_request(harness: Harness) -> None:
    await setup_channels(harness)
    reply = await harness.book()
    assert "waiting for a second adult" in card_text(reply.replace).lower()
    [s] = await sessions(harness)
    assert s.state is State.AWAITING_SECOND_ADULT and s.status_card.activity_id == "form-1"
    [register] = harness.messenger.posted_to("channel:safeguarding")
    [request] = harness.messenger.posted_to("channel:slt")
    assert "Pip Example" not in card_text(register) and "P.E." in card_text(register)
    assert "Second adult needed" in card_text(request)


async def test_double_submit_makes_one_session(harness: Harness) -> None:
    await setup_channels(harness)
    await asyncio.gather(harness.act("tara", "book.submit", FORM), harness.act("tara", "book.submit", FORM))
    await harness.act("tara", "book.submit", FORM)
    assert len(await sessions(harness)) == 1
    assert len(harness.messenger.posted_to("channel:safeguarding")) == 1


async def test_first_accept_wins_and_the_meeting_is_created(harness: Harness) -> None:
    await setup_channels(harness)
    await harness.book()
    [s] = await sessions(harness)
    replies = await asyncio.gather(
        harness.act("sam", "second.accept", {"ref": s.ref}, kind="execute", card_id=s.request_card.activity_id),
        harness.act("sian", "second.accept", {"ref": s.ref}, kind="execute", card_id=s.request_card.activity_id),
    )
    texts = [card_text(r.replace) for r in replies]
    assert sum("You are the second adult" in t for t in texts) == 1
    assert sum("already covered by" in t for t in texts) == 1
    await harness.services.tasks.drain()
    [s] = await sessions(harness)
    assert s.state is State.SCHEDULED and s.second_adult.name in ("Sam Senior", "Sian Second")
    assert s.meeting.local is True and s.meeting.settings["allowMeetingChat"] == "disabled"
    status = harness.messenger.updated("form-1")[-1]
    assert "local test link" in card_text(status) and "Before the session" in card_text(status)
    request = harness.messenger.updated(s.request_card.activity_id)[-1]
    assert f"Covered by {s.second_adult.name}" in card_text(request)
    assert not [n for n in nodes(request) if n.get("type") == "Action.Execute"]
    register = harness.messenger.updated(s.register_card.activity_id)[-1]
    assert "Scheduled" in card_text(register)
    assert len(harness.messenger.posted_to("channel:safeguarding")) == 1


async def test_ineligible_accept_is_refused(harness: Harness) -> None:
    await setup_channels(harness)
    await harness.act("tara", "book.submit", FORM)
    [s] = await sessions(harness)
    reply = await harness.act("oli", "second.accept", {"ref": s.ref}, kind="execute")
    assert "does not qualify" in card_text(reply.replace)
    reply = await harness.act("tara", "second.accept", {"ref": s.ref}, kind="execute")
    assert "organiser" in card_text(reply.replace)
    [s] = await sessions(harness)
    assert s.state is State.AWAITING_SECOND_ADULT


async def test_join_as_second_lists_and_accepts_by_reference(harness: Harness) -> None:
    await harness.act("tara", "book.submit", FORM)
    [s] = await sessions(harness)
    listing = await harness.say("sam", "/join-as-second")
    assert s.ref in card_text(listing.cards[0])
    assert "No sessions" in card_text((await harness.say("oli", "/join-as-second")).cards[0])
    reply = await harness.say("sam", f"join-as-second {s.ref.lower()}")
    assert "You are the second adult" in card_text(reply.cards[0])
    again = await harness.say("sian", f"/join-as-second {s.ref}")
    assert "already covered by Sam Senior" in card_text(again.cards[0])


async def test_without_an_slt_channel_the_card_says_what_to_do(harness: Harness) -> None:
    reply = await harness.act("tara", "book.submit", FORM)
    assert "/setup slt" in card_text(reply.replace)


@pytest.mark.parametrize("profile_id", ["003-crossways"])
async def test_no_second_adult_needed_goes_straight_to_the_meeting(harness: Harness) -> None:
    await setup_channels(harness)
    reply = await harness.act("tara", "book.submit", FORM)
    assert "creating the Teams meeting" in card_text(reply.replace)
    assert harness.messenger.posted_to("channel:slt") == []
    await harness.services.tasks.drain()
    [s] = await sessions(harness)
    assert s.state is State.SCHEDULED


@pytest.mark.parametrize("profile_id", ["004-tces"])
async def test_other_profile_refuses_on_its_own_sentence(harness: Harness) -> None:
    reply = await harness.act(
        "tara", "book.submit", {**FORM, "date": "2026-11-23", "time": "12:00", "pupils": "Pip Example,Robin Example"}
    )
    text = card_text(reply.replace)
    assert "according to the timetable shared with and agreed" in text  # notice
    assert "Robin Example" in text and "after receiving consent" in text  # implied consent not enough
    assert await sessions(harness) == []


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        ({}, "Missing: type, reason, date, time, duration."),
        ({**FORM, "date": "25/11/2026"}, "not valid"),
        ({**FORM, "pupils": "Nobody Known"}, "not in the consent registry"),
        ({**FORM, "pupils": "", "others": "just a name"}, "name, parent email"),
        ({**FORM, "duration": "lots"}, "number of minutes"),
        ({**FORM, "type": "sideways"}, "type"),
        ({**FORM, "recording": "maybe"}, "yes or no"),
    ],
)
async def test_malformed_submission_is_refused_in_place_with_everything_kept(
    harness: Harness, data: dict[str, Any], expect: str
) -> None:
    reply = await harness.act("tara", "book.submit", data)
    assert not reply.cards and reply.replace is not None
    text = card_text(reply.replace)
    assert expect in text and "Nothing is booked yet" in text
    kept = {n["id"]: n.get("value") for n in inputs(reply.replace)}
    for key in ("date", "time", "title", "others"):
        if data.get(key):
            assert kept[key] == data[key], key
    assert await sessions(harness) == []


async def test_no_pupils_chosen_keeps_date_and_time(harness: Harness) -> None:
    reply = await harness.act("tara", "book.submit", {**FORM, "pupils": ""})
    kept = {n["id"]: n.get("value") for n in inputs(reply.replace)}
    assert (
        "Choose at least one pupil." in card_text(reply.replace)
        and kept["date"] == FORM["date"]
        and kept["time"] == FORM["time"]
        and kept["title"] == FORM["title"]
    )


async def test_unknown_verb_and_unknown_command(harness: Harness) -> None:
    reply = await harness.act("tara", "no.such.verb", {})
    assert "out of date" in card_text(reply.cards[0])
    reply = await harness.say("tara", "/frobnicate now")
    assert "I don't know \u201cfrobnicate\u201d" in card_text(reply.cards[0]) and "/book" in card_text(reply.cards[0])
    reply = await harness.say("tara", "please don't /book")
    assert "I don't know" in card_text(reply.cards[0])


async def test_people_outside_the_school_cannot_book(harness: Harness) -> None:
    reply = await harness.say("stranger", "/book")
    assert "Not allowed" in card_text(reply.cards[0])


async def test_setup_needs_an_admin_in_a_channel(harness: Harness) -> None:
    assert "Not allowed" in card_text((await harness.say("tara", "/setup safeguarding", kind="channel")).cards[0])
    assert "in the channel" in card_text((await harness.say("ivy", "/setup safeguarding")).cards[0])
    assert "/setup safeguarding or /setup slt" in card_text(
        (await harness.say("ivy", "/setup", kind="channel")).cards[0]
    )
    reply = await harness.say("ivy", "/setup safeguarding", kind="channel")
    assert "safeguarding" in card_text(reply.cards[0])
    assert harness.messenger.refs["channel:safeguarding"].channel_id == "chan-1"


async def test_cancel_by_the_organiser(harness: Harness) -> None:
    await setup_channels(harness)
    await harness.act("tara", "book.submit", FORM)
    [s] = await sessions(harness)
    assert "Only the organiser" in card_text((await harness.act("oli", "session.cancel", {"ref": s.ref})).cards[0])
    ask = await harness.act("tara", "session.cancel", {"ref": s.ref})
    text = card_text(ask.replace)
    assert f"Cancel session {s.ref}?" in text and "No invitation has been sent yet, so no family is contacted." in text
    assert "SLT channel" in text and "Yes, cancel the session" in text and "No, keep the session" in text
    [s] = await sessions(harness)
    assert s.state is State.AWAITING_SECOND_ADULT  # nothing happens until confirmed
    kept = await harness.act("tara", "session.status", {"ref": s.ref})
    assert "Waiting for a second adult" in card_text(kept.replace)
    reply = await harness.act("tara", "session.cancel", {"ref": s.ref, "confirmed": "yes"})
    assert "no family needed telling" in card_text(reply.replace)
    [s] = await sessions(harness)
    assert s.state is State.CANCELLED and not s.open
    again = await harness.act("tara", "session.cancel", {"ref": s.ref})
    assert "already cancelled" in card_text(again.cards[0])


async def test_unanswered_request_reminds_slt_then_tells_the_teacher(harness: Harness) -> None:
    from datetime import timedelta

    await setup_channels(harness)
    await harness.messenger.remember("user:aad-tara", Where("personal", "personal-tara"))
    await harness.act("tara", "book.submit", FORM)
    clock = harness.services.clock
    await settle(harness.services)
    assert len(harness.messenger.posted_to("channel:slt")) == 1  # only the request itself
    clock.at = clock.at + timedelta(minutes=61)
    await settle(harness.services)
    await settle(harness.services)
    reminders = harness.messenger.posted_to("channel:slt")[1:]
    assert len(reminders) == 1 and "Reminder" in card_text(reminders[0])
    [warned] = harness.messenger.posted_to("user:aad-tara")  # the organiser hears it may give up, once
    assert "Still no second adult" in card_text(warned) and "cancels the session" in card_text(warned)
    [s] = await sessions(harness)
    clock.at = s.booking.start - timedelta(minutes=20)
    await settle(harness.services)
    [s] = await sessions(harness)
    assert s.state is State.CANCELLED and s.meeting is None
    assert "cannot go ahead" in card_text(harness.messenger.updated("form-1")[-1])
    assert "Session cancelled" in card_text(harness.messenger.posted_to("user:aad-tara")[-1])


async def test_today_lists_sessions_for_slt_only(harness: Harness) -> None:
    await harness.act("tara", "book.submit", FORM)
    [s] = await sessions(harness)
    harness.services.clock.at = s.booking.start
    text = card_text((await harness.say("sam", "/today")).cards[0])
    assert s.ref in text and "waiting for a second adult" in text and "Pip" not in text
    assert "Not allowed" in card_text((await harness.say("tara", "/today")).cards[0])


@pytest.mark.parametrize("profile_id", ["001-recorded"])
async def test_quiet_hours_hold_the_invitations(harness: Harness) -> None:
    from datetime import datetime

    from bot.policy.engine import quiet_until

    harness.services.clock.at = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)  # 19:30 in London
    until = quiet_until(harness.services.profile, harness.services.school.policy_facts(), harness.services.clock.now())
    assert until is not None and until.isoformat() == "2026-11-24T07:00:00+00:00"
    reply = await harness.act("tara", "book.submit", {**FORM, "time": "10:00"}, settle=False)
    assert "creating the Teams meeting" in card_text(reply.replace)
    for _ in range(500):  # until the meeting job has put the session on hold (it then waits for 07:00)
        [s] = await sessions(harness)
        if s.problem is not None:
            break
        await asyncio.sleep(0.01)
    assert s.state is State.CONFIRMED and s.problem is not None and s.problem.code == "quiet_hours"
    assert "will be created at 07:00" in card_text(status_card(s, harness.services.profile, harness.services.timezone))
    await harness.services.tasks.close()  # still waiting for 07:00: nothing was sent
    assert s.meeting is None


@pytest.mark.parametrize("profile_id", ["004-tces"])
async def test_recording_needs_slt_approval_and_then_the_meeting_allows_it(harness: Harness) -> None:
    await setup_channels(harness)
    reply = await harness.act("tara", "book.submit", {**FORM, "recording": "true"})
    assert "Recording needs SLT approval" in card_text(reply.replace)
    await harness.services.tasks.drain()
    [s] = await sessions(harness)
    assert s.state is State.SCHEDULED and s.meeting.settings["allowRecording"] is False
    [card] = [c for c in harness.messenger.posted_to("channel:slt") if "Recording approval" in card_text(c)]
    assert "approved by the SLT in consideration of the views" in card_text(card)
    refused = await harness.act("oli", "recording.approve", {"ref": s.ref}, kind="execute")
    assert "Not allowed" in card_text(refused.replace)
    approved = await harness.act("sam", "recording.approve", {"ref": s.ref}, kind="execute")
    assert "Recording approved by Sam Senior" in card_text(approved.replace)
    await settle(harness.services)
    [s] = await sessions(harness)
    assert s.meeting.settings["allowRecording"] is True
    stored = await harness.services.store.get("meetings", s.ref)
    assert stored.doc["meeting"]["settings"]["allowRecording"] is True  # the meeting itself was changed
    assert "Recording approved by Sam Senior" in card_text(harness.messenger.updated("form-1")[-1])
    again = await harness.act("sian", "recording.decline", {"ref": s.ref}, kind="execute")
    assert "already decided" in card_text(again.replace)
