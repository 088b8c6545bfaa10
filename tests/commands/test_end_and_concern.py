"""/end and /concern through the real router and store: register closed in place, concerns kept
out of channels, DSL-only access with every view and refusal audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.audit import Audit
from bot.sessions.model import State
from tests.support.forms import CONCERN, END
from tests.support.harness import Harness, scheduled, setup_channels
from tests.support.outbox import settle
from tests.support.schemas import card_text, inputs, nodes


async def test_end_lists_todays_sessions_then_closes_in_place(harness: Harness) -> None:
    s = await scheduled(harness)
    harness.services.clock.at = s.booking.start  # the day of the session
    listing = await harness.say("tara", "/end")
    assert s.ref in card_text(listing.cards[0])
    assert "no scheduled sessions today" in card_text((await harness.say("oli", "/end")).cards[0])
    form = (await harness.act("tara", "end.open", {"ref": s.ref})).cards[0]
    assert "Pip Example" in card_text(form) and "Sam Senior was present throughout" in card_text(form)
    reply = await harness.act("sam", "end.submit", {"ref": s.ref, **END})  # the second adult may close it too
    assert "closed in the register" in card_text(reply.replace)
    s, _ = await harness.services.sessions.get(s.ref)
    assert (
        s.state is State.ENDED
        and s.closure.outcome == "completed"
        and [p.present for p in s.closure.pupils] == [True, False]
    )
    register = harness.messenger.updated(s.register_card.activity_id)[-1]
    assert "Completed" in card_text(register) and "1 of 2 pupils" in card_text(register)
    assert len(harness.messenger.posted_to("channel:safeguarding")) == 1  # updated in place, never duplicated
    again = await harness.act("tara", "end.submit", {"ref": s.ref, **END})
    assert "ended" in card_text(again.cards[0])
    assert [e.action for e in await Audit(harness.services.store).entries(s.ref)] == [
        "session.booked",
        "session.second_adult",
        "meeting.event_created",
        "meeting.locked",
        "meeting.families_invited",
        "session.scheduled",
        "meeting.verified",
        "session.ended",
    ]


async def test_end_early_for_safeguarding_opens_a_prefilled_concern(harness: Harness) -> None:
    s = await scheduled(harness)
    reply = await harness.act(
        "tara", "end.submit", {"ref": s.ref, **END, "outcome": "ended_early", "early_reason": "safeguarding"}
    )
    assert "Speak to a member of SLT and the child's parent immediately" in card_text(
        reply.replace
    )  # 000's own instruction
    [form] = reply.cards
    values = {n["id"]: n.get("value") for n in inputs(form)}
    assert values["session"] == s.ref and values["pupil"] == "Pip Example" and values["session_ended"] == "true"
    assert "safeguarding concern" in card_text(form)
    register = harness.messenger.updated(s.register_card.activity_id)[-1]
    assert "Ended early (safeguarding concern)" in card_text(register)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"outcome": "ended_early"}, "say why"),
        ({"actual_end": "09:00"}, "after the actual start"),
        ({"present_0": None}, "incomplete"),
        ({"outcome": "sideways"}, "Choose an outcome"),
    ],
)
async def test_bad_end_submission_changes_nothing(harness: Harness, change: dict[str, Any], expect: str) -> None:
    s = await scheduled(harness)
    data = {"ref": s.ref, **END, **change}
    data = {k: v for k, v in data.items() if v is not None}
    reply = await harness.act("tara", "end.submit", data)
    assert expect in card_text(reply.cards[0])
    s, _ = await harness.services.sessions.get(s.ref)
    assert s.state is State.SCHEDULED and s.closure is None


async def test_only_the_people_in_the_session_can_end_it(harness: Harness) -> None:
    s = await scheduled(harness)
    assert "Only the organiser or the second adult" in card_text((await harness.say("oli", f"/end {s.ref}")).cards[0])


async def test_concern_from_personal_chat_alerts_without_narrative_or_pupil(harness: Harness) -> None:
    await setup_channels(harness)
    form = (await harness.say("tara", "/concern")).cards[0]
    assert card_text(form).startswith("If a child is at immediate risk")
    reply = await harness.act("tara", "concern.submit", CONCERN)
    receipt = card_text(reply.replace)
    assert "is recorded" in receipt and "DSL has been alerted" in receipt
    [alert] = harness.messenger.posted_to("channel:safeguarding")
    text = card_text(alert)
    assert "Disclosure" in text and "Tara Teacher" in text
    for secret in ("Pip", "Example", "worrying", "go home", "Ended the session"):
        assert secret not in text
    [c] = await harness.services.concerns.all()
    assert c.what == CONCERN["what"] and c.child_words == CONCERN["child_words"] and c.raised_by == "aad-tara"


async def test_concern_typed_in_a_channel_goes_to_personal_chat_only(harness: Harness) -> None:
    reply = await harness.say("tara", "<at>Chaperone</at> /concern", kind="channel")
    assert reply.cards == () and reply.replace is None
    assert "Raise a safeguarding concern" in card_text(reply.private[0])


async def test_immediate_risk_puts_the_emergency_instruction_first(harness: Harness) -> None:
    reply = await harness.act("tara", "concern.submit", {**CONCERN, "immediate_risk": "true"})
    assert card_text(reply.replace).startswith(
        "If a child is at immediate risk of harm, follow the school's emergency procedure now and call 999"
    )


async def test_concern_is_kept_when_the_channel_is_unreachable_and_retried(harness: Harness) -> None:
    reply = await harness.act("tara", "concern.submit", CONCERN)  # no safeguarding channel yet
    assert "keep trying" in card_text(reply.replace)
    [c] = await harness.services.concerns.all()
    assert not c.alert_posted
    await setup_channels(harness)
    await settle(harness.services, at=harness.services.clock.now() + timedelta(minutes=1))  # the retry is due
    [c] = await harness.services.concerns.all()
    assert c.alert_posted and len(harness.messenger.posted_to("channel:safeguarding")) == 1


async def test_dsl_acknowledges_and_opens_others_are_refused_and_audited(harness: Harness) -> None:
    await setup_channels(harness)
    await harness.act("tara", "concern.submit", CONCERN)
    [c] = await harness.services.concerns.all()
    refused = await harness.act("sam", "concern.open", {"ref": c.ref}, kind="execute")
    assert "Only the DSL" in card_text(refused.replace) and not refused.private
    refused = await harness.act("tara", "concern.ack", {"ref": c.ref}, kind="execute")
    assert "Only the DSL" in card_text(refused.replace)
    acked = await harness.act("dee", "concern.ack", {"ref": c.ref}, kind="execute", card_id=c.alert_card.activity_id)
    assert "Acknowledged by Dee Lead" in card_text(acked.replace)
    assert not [n for n in nodes(acked.replace) if n.get("verb") == "concern.ack"]
    assert "Acknowledged by Dee Lead" in card_text(harness.messenger.updated(c.alert_card.activity_id)[-1])
    opened = await harness.act("dee", "concern.open", {"ref": c.ref}, kind="execute")
    detail = card_text((*opened.private, *opened.cards)[0])
    assert "I don't want to go home tonight" in detail and "Pip Example" in detail
    assert "go home" not in card_text(opened.replace)
    actions = [(e.who, e.action) for e in await Audit(harness.services.store).entries(c.ref)]
    assert actions == [
        ("aad-tara", "concern.raised"),
        ("chaperone", "concern.notified"),
        ("aad-sam", "concern.open.refused"),
        ("aad-tara", "concern.acknowledge.refused"),
        ("aad-dee", "concern.acknowledged"),
        ("aad-dee", "concern.viewed"),
    ]


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"pupil": ""}, "which pupil"),
        ({"what": ""}, "what"),
        ({"category": "Gossip"}, "categories"),
        ({"when_time": "25:00"}, "not valid"),
    ],
)
async def test_incomplete_concern_is_not_stored(harness: Harness, change: dict[str, Any], expect: str) -> None:
    reply = await harness.act("tara", "concern.submit", {**CONCERN, **change})
    assert expect in card_text(reply.cards[0]) and "still in the form" in card_text(reply.cards[0])
    assert await harness.services.concerns.all() == []


async def test_checklist_verifies_settings_and_repairs_drift_telling_slt(harness: Harness) -> None:
    s = await scheduled(harness)
    reply = await harness.act("tara", "session.checklist", {"ref": s.ref})
    text = card_text(reply.cards[0])
    assert "they are as your protocol requires" in text and "Before the session" in text and "After the session" in text
    rec = await harness.services.store.get("meetings", s.ref)  # the organiser turns chat on behind our back
    doc = {
        **rec.doc,
        "meeting": {
            **rec.doc["meeting"],
            "settings": {**rec.doc["meeting"]["settings"], "allowMeetingChat": "enabled"},
        },
    }
    await harness.services.store.replace("meetings", s.ref, doc, etag=rec.etag)
    reply = await harness.act("sam", "session.checklist", {"ref": s.ref})
    assert "allowMeetingChat" in card_text(reply.cards[0]) and "put back" in card_text(reply.cards[0])
    assert "had been changed: allowMeetingChat" in card_text(harness.messenger.posted_to("channel:slt")[-1])
    rec = await harness.services.store.get("meetings", s.ref)
    assert rec.doc["meeting"]["settings"]["allowMeetingChat"] == "disabled"
    assert "Only the organiser" in card_text((await harness.act("oli", "session.checklist", {"ref": s.ref})).cards[0])


async def test_unacknowledged_alert_is_raised_again_once(harness: Harness) -> None:
    from datetime import timedelta

    await setup_channels(harness)
    await harness.act("tara", "concern.submit", {**CONCERN, "immediate_risk": "true"})
    await settle(harness.services)
    assert len(harness.messenger.posted_to("channel:safeguarding")) == 1
    harness.services.clock.at += timedelta(minutes=11)
    await settle(harness.services)
    await settle(harness.services)
    alerts = harness.messenger.posted_to("channel:safeguarding")
    assert len(alerts) == 2 and "Not yet acknowledged after 10 minutes" in card_text(alerts[1])
    assert "go home" not in card_text(alerts[1]) and "Pip" not in card_text(alerts[1])


async def test_end_form_ticks_nothing_for_the_teacher(harness: Harness) -> None:
    s = await scheduled(harness)
    form = (await harness.act("tara", "end.open", {"ref": s.ref})).cards[0]
    chosen = {n["id"]: n.get("value") for n in inputs(form) if n["type"] in ("Input.ChoiceSet", "Input.Toggle")}
    assert chosen and all(not v for v in chosen.values()), (
        chosen
    )  # outcome, presence, parents, second adult: all unstated
    assert all(
        n.get("isRequired")
        for n in inputs(form)
        if n["id"].startswith(("present_", "parent_", "second_throughout", "outcome"))
    )


async def test_end_before_the_start_is_refused_unless_it_did_not_take_place(harness: Harness) -> None:
    s = await scheduled(harness)
    harness.services.clock.at = s.booking.start - timedelta(days=2)  # Monday, for Wednesday's session
    refused = await harness.act("tara", "end.submit", {"ref": s.ref, **END})
    assert "has not started yet" in card_text(refused.cards[0])
    assert (await harness.services.sessions.get(s.ref))[0].state is State.SCHEDULED
    reply = await harness.act("tara", "end.submit", {"ref": s.ref, "outcome": "did_not_take_place"}, card_id="form-2")
    assert "closed in the register" in card_text(reply.replace)
    s, _ = await harness.services.sessions.get(s.ref)
    assert (
        s.state is State.ENDED
        and s.closure.outcome == "did_not_take_place"
        and s.closure.pupils == []
        and s.closure.actual_start is None
    )
    assert "Did not take place" in card_text(harness.messenger.updated(s.register_card.activity_id)[-1])
    assert (await harness.services.store.get("meetings", s.ref)).doc[
        "cancelled"
    ] is True  # families are told by the calendar
    again = await harness.act("tara", "end.submit", {"ref": s.ref, "outcome": "did_not_take_place"}, card_id="form-2")
    assert "closed in the register" in card_text(again.replace)  # the same form again (a retry): the same answer
