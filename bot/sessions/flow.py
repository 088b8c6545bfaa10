"""The booking workflow: store a booking, post its cards, find the second adult, create the meeting.

Answer first, slow work after: commands store the session and reply at once; meeting creation
runs in a tracked background task and updates the cards in place when it is done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from bot import texts
from bot.commands.types import Actor, Posted
from bot.errors import ChaperoneError, Conflict, ExternalServiceError, GraphError, NotFound, NotPermitted
from bot.meetings.provider import Invitee, MeetingRequest
from bot.policy.booking import AdultRole, Booking
from bot.policy.engine import Decision, quiet_until
from bot.policy.meeting import meeting_settings
from bot.policy.messages import who
from bot.policy.model import InviteRule, RecordingRule
from bot.sessions import views
from bot.sessions.model import CardRef, PersonRef, Session, State

log = logging.getLogger(__name__)
SUBMISSIONS = "submissions"


class AlreadyCovered(Conflict):
    def __init__(self, session: Session) -> None:
        name = session.second_adult.name if session.second_adult else "someone else"
        super().__init__(texts.ALREADY_COVERED.format(ref=session.ref, name=name))
        self.session = session


def _now(services: Any) -> Any:
    return services.clock.now()


async def create_session(actor: Actor, booking: Booking, decision: Decision, services: Any, *, submission_key: str | None, status_card: CardRef | None) -> tuple[Session, bool]:
    """Store the accepted booking once. Returns (session, created); a repeated submission of the
    same form returns the session it already made."""
    if submission_key:
        existing = await services.store.get(SUBMISSIONS, submission_key)
        if existing is not None:
            session, _ = await services.sessions.get(existing.doc["ref"])
            return session, False
    now = _now(services)
    second = decision.requirement("second_adult")
    named = booking.second_adult

    def make(ref: str) -> Session:
        needs = second is not None
        s = Session(
            ref=ref,
            state=State.AWAITING_SECOND_ADULT if needs else State.CONFIRMED,
            profile_id=services.profile.id,
            booking=booking.model_copy(update={"id": ref}),
            organiser=PersonRef(name=actor.name, email=booking.organiser.email, aad_id=actor.aad_id),
            second_adult=PersonRef(name=named.name, email=named.email, role=named.role.value) if named else None,
            needs_second_adult=needs,
            qualifies=list(second.data.get("qualifies", [])) if second else [],
            requirements=[{"kind": r.kind, "detail": r.detail} for r in decision.requirements],
            status_card=status_card,
            created_at=now,
            updated_at=now,
            day=booking.start.date().isoformat(),
        )
        s.note("booked", at=now, by=actor.key)
        return s

    session = await services.sessions.add(make)
    if submission_key:
        try:
            await services.store.insert(SUBMISSIONS, submission_key, {"ref": session.ref, "open": False, "day": session.day})
        except Conflict:  # a concurrent duplicate won the race: keep theirs, drop ours
            winner = await services.store.get(SUBMISSIONS, submission_key)
            await services.store.delete("sessions", session.ref)
            other, _ = await services.sessions.get(winner.doc["ref"])  # type: ignore[union-attr]
            return other, False
    await services.audit.record(at=now, who=actor.key, action="session.booked", record=session.ref, detail=f"state={session.state.value} profile={session.profile_id}")
    log.info("session booked ref=%s state=%s organiser=%s", session.ref, session.state.value, actor.key)
    return session, True


async def post_card(services: Any, key: str, card: dict[str, Any]) -> CardRef | None:
    try:
        posted = await services.messenger.post(key, card)
    except NotFound:
        log.warning("no %s conversation is set up; card not posted", key)
        return None
    except ChaperoneError as exc:
        log.warning("posting to %s failed: %s", key, type(exc).__name__)
        return None
    return CardRef(conversation_key=posted.conversation_key, activity_id=posted.activity_id)


async def announce(session: Session, services: Any) -> Session:
    """Post the register card (and the SLT request card when needed), once each."""
    tz = services.timezone
    register = None if session.register_card else await post_card(services, "channel:safeguarding", views.register_card(session, services.profile, tz))
    request = None
    if session.state is State.AWAITING_SECOND_ADULT and not session.request_card:
        request = await post_card(services, "channel:slt", views.request_card(session, tz))
    recording = None
    if needs_recording_decision(session) and not session.recording_card:
        recording = await post_card(services, "channel:slt", views.recording_card(session, tz, recording_sentence(services)))
    if register is None and request is None and recording is None:
        return session

    def keep(s: Session) -> None:
        if register and not s.register_card:
            s.register_card = register
        if request and not s.request_card:
            s.request_card = request
        if recording and not s.recording_card:
            s.recording_card = recording

    return await services.sessions.update(session.ref, keep)


async def after_booking(ref: str, services: Any) -> None:
    """What follows an accepted booking: the register and SLT cards, then the meeting if nothing is awaited."""
    session, _ = await services.sessions.get(ref)
    session = await announce(session, services)
    if session.state is State.CONFIRMED:
        await schedule(ref, services)


async def refresh_cards(session: Session, services: Any) -> None:
    """Update every card of this session in place; a failure is logged, never raised."""
    tz = services.timezone
    slt = await services.messenger.has("channel:slt")
    pairs = [
        (session.status_card, lambda: views.status_card(session, services.profile, tz, slt_channel=slt)),
        (session.register_card, lambda: views.register_card(session, services.profile, tz)),
        (session.request_card, lambda: views.request_card(session, tz)),
        (session.recording_card, lambda: views.recording_card(session, tz, recording_sentence(services))),
    ]
    for ref, build in pairs:
        if ref is None:
            continue
        try:
            await services.messenger.update(Posted(ref.conversation_key, ref.activity_id), build())
        except Exception:  # noqa: BLE001 - a card we cannot update must not break the workflow
            log.warning("card update failed session=%s conversation=%s", session.ref, ref.conversation_key, exc_info=True)


def is_party(actor: Actor, s: Session) -> bool:
    """The organiser or the second adult of the session."""
    ids = {actor.key, (actor.email or "").casefold()}
    people = [s.organiser] + ([s.second_adult] if s.second_adult else [])
    return any(p.aad_id in ids or (p.email or "").casefold() in ids - {""} for p in people)


def eligible(actor: Actor, session: Session) -> bool:
    return actor.key != session.organiser.aad_id and any(actor.has(q) for q in session.qualifies if q != AdultRole.PARENT.value)


async def accept_second(actor: Actor, ref: str, services: Any) -> Session:
    """First eligible accept wins (optimistic concurrency on the session record)."""
    if not actor.email:
        raise NotPermitted(texts.NO_EMAIL, hint=texts.NO_EMAIL_HINT)

    def change(s: Session) -> None:
        if actor.key == s.organiser.aad_id:
            raise NotPermitted(texts.OWN_SESSION.format(ref=s.ref))
        if s.state is not State.AWAITING_SECOND_ADULT:
            if s.second_adult:
                raise AlreadyCovered(s)
            raise Conflict(texts.NOT_WAITING.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        if not eligible(actor, s):
            raise NotPermitted(texts.NOT_ELIGIBLE.format(ref=s.ref, who=who(s.qualifies)))
        role = next(q for q in s.qualifies if actor.has(q))
        s.second_adult = PersonRef(name=actor.name, email=actor.email, aad_id=actor.aad_id, role=role)
        s.move(State.CONFIRMED, at=_now(services), by=actor.key)

    session = await services.sessions.update(ref, change)
    await services.audit.record(at=_now(services), who=actor.key, action="session.second_adult", record=session.ref, detail="accepted; state=confirmed")
    log.info("second adult accepted ref=%s by=%s", session.ref, actor.key)
    await refresh_cards(session, services)
    services.tasks.spawn(schedule(session.ref, services), name=f"schedule-{session.ref}")
    return session


def meeting_request(session: Session, services: Any) -> MeetingRequest:
    profile, school, b = services.profile, services.school, session.booking
    invite = profile.rule(InviteRule)
    to_pupils = invite is not None and invite.to == "pupil_school_email"
    attendees = []
    for p in b.pupils:
        if to_pupils and p.school_email:
            attendees.append(Invitee(p.name, p.school_email))
        elif p.parent_email:
            attendees.append(Invitee(p.parent_name or f"Parent of {p.name}", p.parent_email))
    cc: tuple[Invitee, ...] = ()
    if any(r["kind"] == "copy_slt" for r in session.requirements):
        cc = tuple(Invitee(m, m) for m in school.roles.slt if "@" in m)
    second = Invitee(session.second_adult.name, session.second_adult.email) if session.second_adult and session.second_adult.email else None
    notes = tuple(r["detail"] for r in session.requirements if r["kind"] == "tell_parents")
    return MeetingRequest(
        booking_id=session.ref,
        subject=b.title or f"{school.school.name}: {b.reason.value} session",
        start=b.start,
        end=b.end,
        timezone=services.timezone,
        organiser_id=session.organiser.aad_id or session.organiser.email or "",
        organiser_email=session.organiser.email or "",
        attendees=tuple(attendees),
        second_adult=second,
        cc=cc,
        notes=notes,
        settings=meeting_settings(profile, b, recording_approved=session.recording_decision == "approved"),
    )


async def schedule(ref: str, services: Any) -> None:
    """Create the meeting for a confirmed session; retry while Graph is unavailable."""
    session, _ = await services.sessions.get(ref)
    if session.state is not State.CONFIRMED:
        return
    request = meeting_request(session, services)
    until = quiet_until(services.profile, services.school.policy_facts(), _now(services))
    if until is not None:  # the protocol's quiet hours: invitations to families wait
        def hold(s: Session) -> None:
            s.meeting_error = texts.HELD_FOR_QUIET_HOURS.format(until=until.strftime("%H:%M"))

        session = await services.sessions.update(ref, hold)
        await refresh_cards(session, services)
        await asyncio.sleep(max((until - _now(services)).total_seconds(), 0))
    delays = list(services.meeting_retry_delays)
    while True:
        try:
            meeting = await services.meetings.create(request)
            break
        except ExternalServiceError as exc:
            retry = bool(getattr(exc, "retryable", True)) and bool(delays)
            message = texts.STATUS_TEXT["meeting_retry"] if retry else texts.STATUS_TEXT["meeting_failed"].format(error=f"{exc} {exc.hint}".strip())
            log.warning("meeting create failed ref=%s retry=%s status=%s request_id=%s", ref, retry, getattr(exc, "status", None), getattr(exc, "request_id", None))

            def flag(s: Session, message: str = message) -> None:
                s.meeting_error = message

            session = await services.sessions.update(ref, flag)
            await refresh_cards(session, services)
            if not retry:
                return
            await asyncio.sleep(delays.pop(0))

    def done(s: Session) -> None:
        if s.state is State.CONFIRMED:
            s.meeting = dataclasses.asdict(meeting)
            s.meeting_error = None
            s.move(State.SCHEDULED, at=_now(services), by=None)

    session = await services.sessions.update(ref, done)
    await services.audit.record(at=_now(services), who="chaperone", action="session.scheduled", record=ref, detail=f"local={meeting.local}")
    log.info("meeting ready ref=%s local=%s", ref, meeting.local)
    await refresh_cards(session, services)


async def resume(services: Any) -> None:
    """After a restart: finish what was confirmed but has no meeting yet."""
    for s in await services.sessions.open_sessions(State.CONFIRMED):
        services.tasks.spawn(schedule(s.ref, services), name=f"schedule-{s.ref}")


async def cancel(actor: Actor, ref: str, services: Any) -> Session:
    session, _ = await services.sessions.get(ref)
    if actor.key != session.organiser.aad_id and not actor.has("slt"):
        raise NotPermitted(texts.CANCEL_NOT_YOURS.format(ref=session.ref))
    return await cancel_session(session.ref, services, by=actor.key)


async def cancel_session(ref: str, services: Any, *, by: str, comment: str | None = None) -> Session:
    """Cancel the meeting (families are told by the calendar) and close the session in the register."""
    from bot.meetings.provider import Meeting

    session, _ = await services.sessions.get(ref)
    if not session.open:
        raise Conflict(texts.NOT_OPEN.format(ref=session.ref, state=texts.STATE_LABELS[session.state.value]))
    if session.meeting and session.state is State.SCHEDULED:
        await services.meetings.cancel(Meeting(**session.meeting), organiser_id=session.organiser.aad_id or session.organiser.email or "", comment=comment or texts.CANCEL_COMMENT.format(ref=session.ref))

    def change(s: Session) -> None:
        s.move(State.CANCELLED, at=_now(services), by=by)

    session = await services.sessions.update(ref, change)
    await services.audit.record(at=_now(services), who=by, action="session.cancelled", record=session.ref)
    await refresh_cards(session, services)
    return session


async def collect_attendance(ref: str, services: Any) -> None:
    """After /end: fetch the attendance report (it appears only after the meeting ends), merge it
    into the register and flag gaps. Retries later without blocking anyone."""
    from bot.meetings.provider import Meeting
    from bot.sessions.attendance import merge

    session, _ = await services.sessions.get(ref)
    if not session.meeting or session.meeting.get("local"):
        return
    meeting = Meeting(**session.meeting)
    for delay in (0.0, *services.meeting_retry_delays):
        await asyncio.sleep(delay)
        try:
            attendees = await services.meetings.attendance(meeting, organiser_id=session.organiser.aad_id or "")
        except ExternalServiceError as exc:
            log.warning("attendance fetch failed ref=%s error=%s", ref, type(exc).__name__)
            continue
        if attendees is None:
            continue

        def keep(s: Session) -> None:
            assert s.closure is not None
            s.closure.attendance, s.closure.flags = merge(s, attendees)

        session = await services.sessions.update(ref, keep)
        await services.audit.record(at=_now(services), who="chaperone", action="session.attendance", record=ref, detail=f"flags={len(session.closure.flags) if session.closure else 0}")
        await refresh_cards(session, services)
        return
    log.warning("attendance report not available ref=%s; run `chaperone meetings attendance %s` later", ref, ref)


async def verify_meeting(ref: str, services: Any, *, by: str) -> tuple[Session, list[Any]]:
    """Re-read the meeting's settings, put back any that drifted, and tell SLT when something had."""
    from bot.meetings.provider import Meeting

    session, _ = await services.sessions.get(ref)
    if session.state is not State.SCHEDULED or not session.meeting:
        raise Conflict(texts.END_NOT_SCHEDULED.format(ref=session.ref, state=texts.STATE_LABELS[session.state.value]))
    drift = await services.meetings.verify(Meeting(**session.meeting), organiser_id=session.organiser.aad_id or "", repair=True)
    fields = ", ".join(d.field for d in drift)
    await services.audit.record(at=_now(services), who=by, action="meeting.verified", record=session.ref, detail=f"drift={fields or 'none'}")
    if drift:
        log.warning("meeting settings drifted ref=%s fields=%s", session.ref, fields)
        await post_card(services, "channel:slt", views.notice_card("Meeting settings put back", texts.DRIFT_TO_SLT.format(ref=session.ref, organiser=session.organiser.name, fields=fields)))
    return session, drift


def needs_recording_decision(session: Session) -> bool:
    return any(r["kind"] == "recording_approval" for r in session.requirements)


def recording_sentence(services: Any) -> str:
    rule = services.profile.rule(RecordingRule)
    return rule.sentence if rule is not None else ""


async def decide_recording(actor: Actor, ref: str, approve: bool, services: Any) -> Session:
    """SLT approve or decline a recording request; a scheduled meeting's settings follow at once."""
    from bot.meetings.provider import Meeting

    if not actor.has("slt"):
        raise NotPermitted(texts.RECORDING_SLT_ONLY)

    def decide(s: Session) -> None:
        if not needs_recording_decision(s):
            raise Conflict(texts.RECORDING_NOT_ASKED.format(ref=s.ref))
        if s.recording_decision is not None:
            raise Conflict(texts.RECORDING_ALREADY.format(ref=s.ref, decision=views.recording_line(s)))
        if not s.open:
            raise Conflict(texts.NOT_OPEN.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        s.recording_decision = "approved" if approve else "declined"
        s.recording_decided_by = PersonRef(name=actor.name, email=actor.email, aad_id=actor.aad_id, role="slt")
        s.note(f"recording {s.recording_decision}", at=_now(services), by=actor.key)

    session = await services.sessions.update(ref, decide)
    await services.audit.record(at=_now(services), who=actor.key, action=f"recording.{session.recording_decision}", record=session.ref)
    if approve and session.state is State.SCHEDULED and session.meeting:
        settings = meeting_settings(services.profile, session.booking, recording_approved=True)
        meeting = Meeting(**{**session.meeting, "settings": settings})
        await services.meetings.verify(meeting, organiser_id=session.organiser.aad_id or "", repair=True)

        def keep(s: Session) -> None:
            assert s.meeting is not None
            s.meeting = {**s.meeting, "settings": settings}

        session = await services.sessions.update(ref, keep)
    await refresh_cards(session, services)
    return session
