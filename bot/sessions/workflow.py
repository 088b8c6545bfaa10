"""The session workflow: every state change of a session and the side effects it owes.

Book, find the second adult, create the meeting, cancel, end, collect attendance, verify the
meeting's settings, decide on recording, and escalate unanswered requests. Answer first, slow work
after: commands call in here, reply at once, and meeting creation runs in a tracked background
task that updates the cards in place when it is done.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, Literal

from bot import texts
from bot.chat import SAFEGUARDING_CHANNEL, SLT_CHANNEL, Actor, Card, CardRef, user_key
from bot.delivery import post_or_none, update_quietly
from bot.errors import Conflict, ExternalServiceError, NotPermitted, UsageError
from bot.audit import describe
from bot.meetings.provider import Invitee, Meeting, MeetingRequest, hides_attendees, invitations
from bot.policy.booking import AdultRole, Booking
from bot.policy.engine import Decision, breach_notes, quiet_until
from bot.policy.meeting import meeting_settings
from bot.policy.messages import who
from bot.sessions import cards as views
from bot.sessions.attendance import merge
from bot.sessions.model import Closure, MeetingProblem, PersonRef, Requirement, Session, State

if TYPE_CHECKING:
    from bot.meetings.provider import Drift
    from bot.services import Services
from bot.policy.model import InviteRule, RecordingRule

log = logging.getLogger(__name__)
SUBMISSIONS = "submissions"


class AlreadyCovered(Conflict):
    def __init__(self, session: Session) -> None:
        name = session.second_adult.name if session.second_adult else "someone else"
        super().__init__(texts.ALREADY_COVERED.format(ref=session.ref, name=name))
        self.session = session


def _now(services: Services) -> datetime:
    return services.clock.now()


async def create_session(actor: Actor, booking: Booking, decision: Decision, services: Services, *, submission_key: str | None, status_card: CardRef | None) -> tuple[Session, bool]:
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
            requirements=[Requirement(kind=r.kind, detail=r.detail) for r in decision.requirements],
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


async def post_card(services: Services, key: str, card: Card) -> CardRef | None:
    return await post_or_none(services.messenger, key, card)


async def announce(session: Session, services: Services) -> Session:
    """Post the register card (and the SLT request card when needed), once each."""
    tz = services.timezone
    register = None if session.register_card else await post_card(services, SAFEGUARDING_CHANNEL, views.register_card(session, services.profile, tz))
    request = None
    if session.state is State.AWAITING_SECOND_ADULT and not session.request_card:
        request = await post_card(services, SLT_CHANNEL, views.request_card(session, tz))
    recording = None
    if needs_recording_decision(session) and not session.recording_card:
        recording = await post_card(services, SLT_CHANNEL, views.recording_card(session, tz, recording_sentence(services)))
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


async def after_booking(ref: str, services: Services) -> None:
    """What follows an accepted booking: the register and SLT cards, then the meeting if nothing is awaited."""
    session, _ = await services.sessions.get(ref)
    session = await announce(session, services)
    if session.state is State.CONFIRMED:
        await schedule(ref, services)


async def refresh_cards(session: Session, services: Services) -> None:
    """Update every card of this session in place; a failure is logged, never raised."""
    tz = services.timezone
    slt = await services.messenger.has(SLT_CHANNEL)
    pairs: list[tuple[CardRef | None, Callable[[], Card]]] = [
        (session.status_card, lambda: views.status_card(session, services.profile, tz, slt_channel=slt)),
        (session.register_card, lambda: views.register_card(session, services.profile, tz)),
        (session.request_card, lambda: views.request_card(session, tz)),
        (session.recording_card, lambda: views.recording_card(session, tz, recording_sentence(services))),
    ]
    for ref, build in pairs:
        if ref is not None:
            await update_quietly(services.messenger, ref, build(), record=session.ref)


async def tell(services: Services, person: PersonRef | None, title: str, line: str, *, unless: str | None = None) -> None:
    """A short personal message to one person of a session (not to ``unless``, who acted); quiet if undeliverable."""
    if person is None or not person.aad_id or person.aad_id == unless:
        return
    await post_card(services, user_key(person.aad_id), views.notice_card(title, line))


async def tell_accepted(s: Session, services: Services) -> None:
    name = s.second_adult.name if s.second_adult else ""
    await tell(services, s.organiser, texts.TOLD_ACCEPTED_TITLE, texts.TOLD_ACCEPTED.format(name=name, ref=s.ref, when=views.when(s, services.timezone)))


async def tell_ready(s: Session, services: Services) -> None:
    line = texts.TOLD_READY_LOCAL if s.meeting and s.meeting.local else texts.TOLD_READY
    await tell(services, s.organiser, texts.TOLD_READY_TITLE, line.format(ref=s.ref, when=views.when(s, services.timezone)))


async def tell_may_give_up(s: Session, services: Services) -> None:
    deadline = s.booking.start - timedelta(minutes=services.school.second_adult.give_up_before_start_minutes)
    at = views.hhmm_on(deadline, services.timezone)
    await tell(services, s.organiser, texts.TOLD_MAY_GIVE_UP_TITLE, texts.TOLD_MAY_GIVE_UP.format(ref=s.ref, at=at))


async def tell_cancelled(s: Session, services: Services, *, by: str | None) -> None:
    line = texts.TOLD_CANCELLED.format(ref=s.ref, when=views.when(s, services.timezone))
    await tell(services, s.organiser, texts.TOLD_CANCELLED_TITLE, line, unless=by)
    await tell(services, s.second_adult, texts.TOLD_CANCELLED_TITLE, line, unless=by)


async def tell_changed(s: Session, services: Services, what: str, *, by: str | None) -> None:
    await tell(services, s.second_adult, texts.TOLD_CHANGED_TITLE, texts.TOLD_CHANGED.format(ref=s.ref, what=what), unless=by)


def is_party(actor: Actor, s: Session) -> bool:
    """The organiser or the second adult of the session."""
    ids = {actor.key, (actor.email or "").casefold()}
    people = [s.organiser] + ([s.second_adult] if s.second_adult else [])
    return any(p.aad_id in ids or (p.email or "").casefold() in ids - {""} for p in people)


def eligible(actor: Actor, session: Session) -> bool:
    return actor.key != session.organiser.aad_id and any(actor.has(q) for q in session.qualifies if q != AdultRole.PARENT.value)


async def accept_second(actor: Actor, ref: str, services: Services) -> Session:
    """First eligible accept wins (optimistic concurrency on the session record)."""
    if not actor.email:
        raise NotPermitted(texts.NO_EMAIL, hint=texts.NO_EMAIL_HINT)

    def change(s: Session) -> None:
        if actor.key == s.organiser.aad_id:
            raise NotPermitted(texts.OWN_SESSION.format(ref=s.ref), hint=texts.OWN_SESSION_HINT)
        if s.state is not State.AWAITING_SECOND_ADULT:
            if s.second_adult:
                raise AlreadyCovered(s)
            raise Conflict(texts.NOT_WAITING.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        if not eligible(actor, s):
            raise NotPermitted(texts.NOT_ELIGIBLE.format(ref=s.ref, who=who(s.qualifies)), hint=texts.ROLE_HINT)
        role = next(q for q in s.qualifies if actor.has(q))
        s.second_adult = PersonRef(name=actor.name, email=actor.email, aad_id=actor.aad_id, role=role)
        s.move(State.CONFIRMED, at=_now(services), by=actor.key)

    session = await services.sessions.update(ref, change)
    await services.audit.record(at=_now(services), who=actor.key, action="session.second_adult", record=session.ref, detail="accepted; state=confirmed")
    log.info("second adult accepted ref=%s by=%s", session.ref, actor.key)
    await refresh_cards(session, services)
    await tell_accepted(session, services)
    services.tasks.spawn(schedule(session.ref, services), name=f"schedule-{session.ref}")
    return session


def meeting_request(session: Session, services: Services) -> MeetingRequest:
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
    if any(r.kind == "copy_slt" for r in session.requirements):
        cc = tuple(Invitee(m, m) for m in school.roles.slt if "@" in m)
    second = Invitee(session.second_adult.name, session.second_adult.email) if session.second_adult and session.second_adult.email else None
    notes = tuple(r.detail for r in session.requirements if r.kind == "tell_parents")
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
        second_adult_is_family=bool(session.second_adult and session.second_adult.role == AdultRole.PARENT.value),
    )


#: Meeting settings that keep a child safe (who gets in, who presents, chat, recording, camera and
#: microphone): when one cannot be applied the DSL is told as well as SLT.
SAFEGUARDING_SETTINGS = frozenset({
    "lobbyBypassSettings", "allowedLobbyAdmitters", "allowedPresenters", "allowMeetingChat", "allowRecording",
    "recordAutomatically", "allowTranscription", "allowAttendeeToEnableCamera", "allowAttendeeToEnableMic",
})
INVITING = "inviting families"


def _organiser_id(s: Session) -> str:
    return s.organiser.aad_id or s.organiser.email or ""


def retry_delay(services: Services, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: services.meeting_retry_delays in turn, then its last
    (the cap) for ever."""
    delays = services.meeting_retry_delays or (600.0,)
    return delays[min(attempt, len(delays) - 1)]


async def schedule(ref: str, services: Services) -> None:
    """Open the meeting of a confirmed session, lock before invite: the event with the staff only,
    the protocol's settings applied and read back, and only then the families. A failure is shown
    on the card (and told to SLT, IT and, for a safeguarding setting, the DSL) and retried with
    capped backoff until it succeeds, the session is cancelled, or its start time passes."""
    session, _ = await services.sessions.get(ref)
    if session.state is not State.CONFIRMED:
        return
    until = quiet_until(services.profile, services.school.policy_facts(), _now(services))
    if until is not None:  # the protocol's quiet hours: invitations to families wait
        def hold(s: Session) -> None:
            s.problem = MeetingProblem(code="quiet_hours", until=until)

        session = await services.sessions.update(ref, hold)
        await refresh_cards(session, services)
        await asyncio.sleep(max((until - _now(services)).total_seconds(), 0))
    attempt = 0
    while True:
        session, _ = await services.sessions.get(ref)
        if session.state is not State.CONFIRMED:
            return  # cancelled meanwhile: cancel_session withdrew whatever event there was
        if _now(services) >= session.booking.start:
            await _too_late(ref, services)
            return
        try:
            opened = await _open_meeting(session, services)
        except ExternalServiceError as exc:
            await _meeting_failed(ref, exc, attempt, services)
            await asyncio.sleep(retry_delay(services, attempt))
            attempt += 1
            continue
        if opened is None:
            return  # cancelled while a step ran: the event was withdrawn
        break

    def done(s: Session) -> None:
        if s.state is State.CONFIRMED:
            s.problem = None
            s.move(State.SCHEDULED, at=_now(services), by=None)

    session = await services.sessions.update(ref, done)
    meeting = session.meeting
    await services.audit.record(at=_now(services), who="chaperone", action="session.scheduled", record=ref, detail=f"local={meeting.local if meeting else '-'}")
    log.info("meeting ready ref=%s local=%s attempts=%d", ref, meeting.local if meeting else "-", attempt + 1)
    await refresh_cards(session, services)
    await tell_ready(session, services)


async def _open_meeting(session: Session, services: Services) -> Session | None:
    """One attempt at the three steps, each stored and audited as it completes (so a cancel always
    knows the event). None when the session was cancelled meanwhile (the event is then withdrawn)."""
    request = meeting_request(session, services)
    provider, ref = services.meetings, session.ref
    meeting = session.meeting
    if meeting is None:
        meeting = await provider.create_event(request)
        staff = sum(1 for i in invitations(request) if not i.family)
        kept = await _keep_meeting(ref, meeting, services, "meeting.event_created", f"event={meeting.event_id} meeting={meeting.meeting_id} staff={staff} families=0")
        if kept is None:
            return None
    if meeting.families_invited:
        return session
    meeting = await provider.lock(meeting, request)  # again on every attempt: the settings must hold right before the invitations
    kept = await _keep_meeting(ref, meeting, services, "meeting.locked", f"meeting={meeting.meeting_id} settings={len(meeting.settings)} read_back=equal")
    if kept is None:
        return None
    await services.sessions.update(ref, lambda s: s.note(INVITING, at=_now(services), by=None))
    meeting = await provider.invite_families(meeting, request)
    families = sum(1 for i in invitations(request) if i.family)
    return await _keep_meeting(ref, meeting, services, "meeting.families_invited", f"event={meeting.event_id} families={families} hidden={hides_attendees(request)}")


async def _keep_meeting(ref: str, meeting: Meeting, services: Services, action: str, detail: str) -> Session | None:
    """Store the meeting as it now is and audit the step; if the session was cancelled meanwhile,
    withdraw the event and return None."""
    def keep(s: Session) -> None:
        s.meeting = meeting

    session = await services.sessions.update(ref, keep)
    await services.audit.record(at=_now(services), who="chaperone", action=action, record=ref, detail=detail)
    if session.state is State.CONFIRMED:
        return session
    log.info("session cancelled while its meeting was opened ref=%s; withdrawing the event", ref)
    await _withdraw(session, services, comment=None)
    return None


async def _meeting_failed(ref: str, exc: ExternalServiceError, attempt: int, services: Services) -> None:
    """Show the failure on the card; tell SLT (and the DSL for a safeguarding setting) once per new problem."""
    reason = str(getattr(exc, "reason", "unknown"))
    fields: tuple[str, ...] = tuple(getattr(exc, "fields", ()) or ())
    retryable = bool(getattr(exc, "retryable", True))
    if retryable and attempt < len(services.meeting_retry_delays) - 1:
        problem = MeetingProblem(code="retrying")  # a passing blip alarms nobody; a lasting one is told below
    elif fields:
        safeguarding = bool(set(fields) & SAFEGUARDING_SETTINGS)
        problem = MeetingProblem(code="not_locked_safeguarding" if safeguarding else "not_locked", error=reason, fields=fields)
    else:  # lasting, or needs a person (credentials, access policy): IT are told now
        problem = MeetingProblem(code="failed", error=reason)
    log.warning("meeting step failed ref=%s code=%s reason=%s status=%s request_id=%s attempt=%d", ref, problem.code, reason,
                getattr(exc, "status", None), getattr(exc, "request_id", None), attempt + 1)
    changed: list[bool] = []

    def flag(s: Session) -> None:
        changed.append(s.problem != problem)
        if s.state is State.CONFIRMED:
            s.problem = problem

    session = await services.sessions.update(ref, flag)
    if not changed or not changed[-1] or session.state is not State.CONFIRMED:
        return
    await services.audit.record(at=_now(services), who="chaperone", action="meeting.failed", record=ref,
                                detail=describe({"code": problem.code, "reason": reason, "status": getattr(exc, "status", None),
                                                 "request_id": getattr(exc, "request_id", None), "fields": ",".join(fields)}))
    await refresh_cards(session, services)
    if problem.code == "retrying":
        return
    step = "lock" if fields else "create"
    await _tell(session, services, step, reason, fields, dsl=problem.code == "not_locked_safeguarding")


async def _tell(session: Session, services: Services, step: str, reason: str, fields: tuple[str, ...], *, dsl: bool) -> None:
    """SLT (and the DSL) in their channels, and IT in the log: reference, organiser, what failed and
    what IT must do; never a pupil's name."""
    labels = ", ".join(texts.SETTING_LABELS.get(f, f) for f in fields)
    what = texts.GRAPH_FAILURES.get(reason, texts.GRAPH_FAILURES["unknown"])
    hint = texts.GRAPH_HINTS.get(reason, texts.MEETING_NOTICE_HINT)
    line = texts.MEETING_NOTICE.format(ref=session.ref, organiser=session.organiser.name, what=what, step=texts.MEETING_NOTICE_STEP[step].format(fields=labels), hint=hint)
    log.error("meeting needs IT ref=%s step=%s reason=%s fields=%s", session.ref, step, reason, ",".join(fields))
    for channel in (SLT_CHANNEL, SAFEGUARDING_CHANNEL) if dsl else (SLT_CHANNEL,):
        posted = await _notify(services, channel, texts.MEETING_NOTICE_TITLE, line)
        await services.audit.record(at=_now(services), who="chaperone", action="meeting.told", record=session.ref,
                                    detail=f"channel={channel} step={step} reason={reason} posted={posted}")


async def _notify(services: Services, channel: str, title: str, text: str) -> bool:
    """Post a notice to a channel; False (logged by key) when it could not be posted.
    (The one seam for the outbox: an owed "notice" job once side effects are durable.)"""
    try:
        await services.messenger.post(channel, views.notice_card(title, text))
    except Exception:  # a notice that cannot be posted must not stop the meeting's retries
        log.warning("meeting notice not posted to %s", channel, exc_info=True)
        return False
    return True


async def _cancel_unless_moved(ref: str, services: Services, *, still: State, code: Literal["too_late", "no_second_adult"]) -> Session | None:
    """Chaperone cancels a session that is still in ``still`` (with why, as a problem code); None if it moved on meanwhile."""
    def cancel(s: Session) -> None:
        if s.state is not still:
            raise Conflict("moved on")
        s.problem = MeetingProblem(code=code)
        s.move(State.CANCELLED, at=_now(services), by=None)

    try:
        return await services.sessions.update(ref, cancel)
    except Conflict:
        return None


async def _too_late(ref: str, services: Services) -> None:
    """The start time passed before the meeting was ready: the session cannot go ahead."""
    session = await _cancel_unless_moved(ref, services, still=State.CONFIRMED, code="too_late")
    if session is None:
        return
    await services.audit.record(at=_now(services), who="chaperone", action="session.cancelled", record=ref, detail="start time passed before the meeting was ready")
    session = await _withdraw(session, services, comment=None, keep_problem=True)
    await refresh_cards(session, services)
    text = texts.MEETING_TOO_LATE_NOTICE.format(ref=ref, organiser=session.organiser.name)
    await _notify(services, SLT_CHANNEL, texts.MEETING_TOO_LATE_TITLE, text)
    log.warning("session cannot go ahead: meeting not ready by the start ref=%s", ref)


async def resume(services: Services) -> None:
    """After a restart: finish what was confirmed but has no meeting yet."""
    for s in await services.sessions.open_sessions(State.CONFIRMED):
        services.tasks.spawn(schedule(s.ref, services), name=f"schedule-{s.ref}")


async def cancellable(actor: Actor, ref: str, services: Services) -> Session:
    """The session, if this actor may cancel it now (its organiser or SLT, and it is still open)."""
    session, _ = await services.sessions.get(ref)
    if actor.key != session.organiser.aad_id and not actor.has("slt"):
        raise NotPermitted(texts.CANCEL_NOT_YOURS.format(ref=session.ref))
    if not session.open:
        raise Conflict(texts.NOT_OPEN.format(ref=session.ref, state=texts.STATE_LABELS[session.state.value]))
    return session


async def cancel(actor: Actor, ref: str, services: Services) -> Session:
    session = await cancellable(actor, ref, services)
    return await cancel_session(session.ref, services, by=actor.key)


async def cancel_session(ref: str, services: Services, *, by: str, comment: str | None = None) -> Session:
    """Close the session in the register, then cancel its event whatever step the meeting reached
    (families on it are told by the calendar); the card says whether families were told."""
    def change(s: Session) -> None:
        if not s.open:
            raise Conflict(texts.NOT_OPEN.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        s.move(State.CANCELLED, at=_now(services), by=by)

    session = await services.sessions.update(ref, change)
    await services.audit.record(at=_now(services), who=by, action="session.cancelled", record=session.ref)
    session = await _withdraw(session, services, comment=comment)
    await refresh_cards(session, services)
    await tell_cancelled(session, services, by=by)
    return session


def _families_reached(s: Session) -> bool:
    """Whether families may hold an invitation: invited, or an invitation was attempted."""
    return bool(s.meeting and s.meeting.families_invited) or any(e.what == INVITING for e in s.history)


async def _withdraw(session: Session, services: Services, *, comment: str | None, keep_problem: bool = False) -> Session:
    """Cancel a cancelled session's event, if it has one, and record on the card whether families
    were told; when Microsoft 365 refuses, keep trying in the background and say so."""
    meeting = session.meeting
    told = _families_reached(session)
    problem = MeetingProblem(code="cancelled_families_told" if told else "cancelled_none_invited")
    if meeting is not None:
        try:
            await services.meetings.cancel(meeting, organiser_id=_organiser_id(session), comment=comment or texts.CANCEL_COMMENT.format(ref=session.ref))
        except ExternalServiceError as exc:
            if getattr(exc, "code", None) != "ErrorItemNotFound":  # already gone: nothing left to withdraw
                reason = str(getattr(exc, "reason", "unknown"))
                log.warning("event cancel failed ref=%s reason=%s request_id=%s", session.ref, reason, getattr(exc, "request_id", None))
                problem = MeetingProblem(code="cancel_pending_families" if told else "cancel_pending", error=reason)
        detail = f"event={meeting.event_id} families_told={told}" if not problem.code.startswith("cancel_pending") else f"event={meeting.event_id} pending reason={problem.error}"
        await services.audit.record(at=_now(services), who="chaperone", action="meeting.event_cancelled" if "pending" not in problem.code else "meeting.cancel_failed", record=session.ref, detail=detail)

    def note(s: Session) -> None:
        if not keep_problem or problem.code.startswith("cancel_pending"):
            s.problem = problem

    session = await services.sessions.update(session.ref, note)
    if problem.code.startswith("cancel_pending"):
        await _tell(session, services, "cancel", problem.error or "unknown", (), dsl=False)
        services.tasks.spawn(_withdraw_later(session.ref, services, comment), name=f"withdraw-{session.ref}")
    return session


async def _withdraw_later(ref: str, services: Services, comment: str | None) -> None:
    """Keep trying to cancel the event of a cancelled session (capped backoff) until it is done or the session has ended."""
    attempt = 0
    while True:
        await asyncio.sleep(retry_delay(services, attempt))
        attempt += 1
        session, _ = await services.sessions.get(ref)
        if session.meeting is None or not (session.problem and session.problem.code.startswith("cancel_pending")):
            return
        if _now(services) >= session.booking.end:
            log.warning("event of cancelled session %s still not withdrawn at its end", ref)
            return
        try:
            await services.meetings.cancel(session.meeting, organiser_id=_organiser_id(session), comment=comment or texts.CANCEL_COMMENT.format(ref=ref))
        except ExternalServiceError as exc:
            if getattr(exc, "code", None) != "ErrorItemNotFound":
                continue
        told = _families_reached(session)

        def done(s: Session, told: bool = told) -> None:
            s.problem = MeetingProblem(code="cancelled_families_told" if told else "cancelled_none_invited")

        session = await services.sessions.update(ref, done)
        await services.audit.record(at=_now(services), who="chaperone", action="meeting.event_cancelled", record=ref, detail=f"event={session.meeting.event_id if session.meeting else '-'} families_told={told} attempts={attempt + 1}")
        await refresh_cards(session, services)
        return


async def collect_attendance(ref: str, services: Services) -> None:
    """After /end: fetch the attendance report (it appears only after the meeting ends), merge it
    into the register and flag gaps. Retries later without blocking anyone."""
    session, _ = await services.sessions.get(ref)
    if not session.meeting or session.meeting.local:
        return
    meeting = session.meeting
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


async def verify_meeting(ref: str, services: Services, *, by: str) -> tuple[Session, list[Drift]]:
    """Re-read the meeting's settings, put back any that drifted, and tell SLT when something had."""
    session, _ = await services.sessions.get(ref)
    if session.state is not State.SCHEDULED or not session.meeting:
        raise Conflict(texts.END_NOT_SCHEDULED.format(ref=session.ref, state=texts.STATE_LABELS[session.state.value]))
    drift = await services.meetings.verify(session.meeting, organiser_id=session.organiser.aad_id or "", repair=True)
    fields = ", ".join(d.field for d in drift)
    await services.audit.record(at=_now(services), who=by, action="meeting.verified", record=session.ref, detail=f"drift={fields or 'none'}")
    if drift:
        log.warning("meeting settings drifted ref=%s fields=%s", session.ref, fields)
        await post_card(services, SLT_CHANNEL, views.notice_card("Meeting settings put back", texts.DRIFT_TO_SLT.format(ref=session.ref, organiser=session.organiser.name, fields=fields), shared=True))
    return session, drift


def needs_recording_decision(session: Session) -> bool:
    return any(r.kind == "recording_approval" for r in session.requirements)


def recording_sentence(services: Services) -> str:
    rule = services.profile.rule(RecordingRule)
    return rule.sentence if rule is not None else ""


async def decide_recording(actor: Actor, ref: str, approve: bool, services: Services) -> Session:
    """SLT approve or decline a recording request; a scheduled meeting's settings follow at once."""
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
        meeting = session.meeting.model_copy(update={"settings": settings})
        await services.meetings.verify(meeting, organiser_id=session.organiser.aad_id or "", repair=True)

        def keep(s: Session) -> None:
            assert s.meeting is not None
            s.meeting = s.meeting.model_copy(update={"settings": settings})

        session = await services.sessions.update(ref, keep)
    await refresh_cards(session, services)
    await tell_changed(session, services, views.recording_line(session), by=actor.key)
    return session


async def closable(actor: Actor, ref: str, services: Services) -> Session:
    """The session, if this actor may end it now (its organiser or second adult, and it is scheduled)."""
    s, _ = await services.sessions.get(ref)
    if not is_party(actor, s):
        raise NotPermitted(texts.END_NOT_YOURS.format(ref=s.ref))
    if s.state is not State.SCHEDULED:
        raise UsageError(texts.END_NOT_SCHEDULED.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
    return s


async def end_session(actor: Actor, ref: str, closure: Closure, services: Services) -> tuple[Session, list[str]]:
    """Close the register entry with what /end recorded; returns the session and the protocol's
    instructions for an early end (e.g. "inform the DSL")."""

    def close(x: Session) -> None:
        if x.state is not State.SCHEDULED:
            raise UsageError(texts.END_NOT_SCHEDULED.format(ref=x.ref, state=texts.STATE_LABELS[x.state.value]))
        x.closure = closure
        x.move(State.ENDED, at=closure.closed_at, by=actor.key)

    s = await services.sessions.update(ref, close)
    await services.audit.record(at=closure.closed_at, who=actor.key, action="session.ended", record=s.ref, detail=f"outcome={closure.outcome} reason={closure.early_reason or '-'}")
    await refresh_cards(s, services)
    services.tasks.spawn(collect_attendance(s.ref, services), name=f"attendance-{s.ref}")
    return s, [note for note, _ in breach_notes(services.profile, closure.early_reason)]


REMINDED = "reminded"


async def sweep(services: Services) -> None:
    """One pass over sessions waiting for a second adult: remind SLT, or give up before the start."""
    now = _now(services)
    rules = services.school.second_adult
    for s in await services.sessions.open_sessions(State.AWAITING_SECOND_ADULT):
        if s.booking.start - now <= timedelta(minutes=rules.give_up_before_start_minutes):
            await _give_up(s.ref, services)
        elif now - s.created_at >= timedelta(minutes=rules.remind_after_minutes) and not any(e.what == REMINDED for e in s.history):
            await _remind(s, services)


async def _remind(s: Session, services: Services) -> None:
    card = views.request_card(s, services.timezone, headline=texts.REMINDER_HEADLINE.format(organiser=s.organiser.name))
    posted = await post_card(services, SLT_CHANNEL, card)

    def mark(x: Session) -> None:
        x.note(REMINDED, at=_now(services), by=None)
        if posted and not x.request_card:
            x.request_card = posted

    await services.sessions.update(s.ref, mark)
    log.info("second-adult reminder sent ref=%s", s.ref)
    await tell_may_give_up(s, services)


async def _give_up(ref: str, services: Services) -> None:
    s = await _cancel_unless_moved(ref, services, still=State.AWAITING_SECOND_ADULT, code="no_second_adult")
    if s is None:
        return  # someone accepted at the last moment
    await services.audit.record(at=_now(services), who="chaperone", action="session.cancelled", record=ref, detail="no second adult in time")
    await refresh_cards(s, services)
    await tell_cancelled(s, services, by=None)
    log.info("session cancelled: no second adult ref=%s", ref)
