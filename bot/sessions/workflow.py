"""The session workflow: every state change of a session and the side effects it owes.

Book, find the second adult, create the meeting, cancel, end, collect attendance, verify the
meeting's settings, decide on recording, and escalate unanswered requests. Answer first, slow work
after: a user action's state change, its idempotency key and every side effect it owes (channel
posts, card updates, the meeting, timers) are written to the session in ONE store write; the
outbox (bot/outbox.py) then runs the owed jobs (JOBS below), once each, retrying until done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from bot import jobs, texts
from bot.audit import describe
from bot.chat import SAFEGUARDING_CHANNEL, SLT_CHANNEL, Actor, Card, CardRef, user_key
from bot.delivery import update_quietly
from bot.errors import Conflict, ExternalServiceError, NotPermitted, UsageError
from bot.jobs import Apply, Handler, Job, Kind
from bot.meetings.provider import Invitee, Meeting, MeetingRequest, hides_attendees, invitations
from bot.policy.booking import AdultRole, Booking
from bot.policy.engine import Decision, breach_notes, quiet_until
from bot.policy.meeting import meeting_settings
from bot.sessions import cards as views
from bot.sessions.attendance import merge
from bot.sessions.model import Closure, MeetingProblem, PersonRef, Requirement, Session, State
from bot.texts.policy import who

if TYPE_CHECKING:
    from bot.meetings.provider import Drift
    from bot.services import Services
from bot.policy.model import InviteRule, RecordingRule

log = logging.getLogger(__name__)
TABLE = "sessions"
#: The automatic meeting check runs this long before the start (re-read settings, repair drift, tell SLT).
MEETING_CHECK_BEFORE = timedelta(minutes=15)
#: Write attempts for what Graph has already done (an event made, settings locked): never dropped for a busy record.
KEEP_ATTEMPTS = 50


class AlreadyCovered(Conflict):
    def __init__(self, session: Session) -> None:
        name = session.second_adult.name if session.second_adult else "someone else"
        super().__init__(texts.ALREADY_COVERED.format(ref=session.ref, name=name))
        self.session = session


def _now(services: Services) -> datetime:
    return services.clock.now()


async def create_session(
    actor: Actor,
    booking: Booking,
    decision: Decision,
    services: Services,
    *,
    submission_key: str,
    status_card: CardRef | None,
) -> tuple[Session, bool]:
    """Store the accepted booking once, with everything it owes. Returns (session, created); a
    repeated submission of the same form (a retry, a double click) returns the session it made."""
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
            origin=submission_key,
        )
        s.note("booked", at=now, by=actor.key)
        owe_open(s, services, now)
        return s

    session, created = await services.sessions.add_once(submission_key, make)
    if created:
        await services.audit.record(
            at=now,
            who=actor.key,
            action="session.booked",
            record=session.ref,
            detail=f"state={session.state.value} profile={session.profile_id}",
        )
        log.info("session booked ref=%s state=%s organiser=%s", session.ref, session.state.value, actor.key)
    kick(session, services)
    return session, created


def kick(session: Session, services: Services) -> None:
    """Run what the session owes now (in the background; the reply is not held up)."""
    if session.pending:
        services.outbox.kick(services, TABLE, session.ref)


async def _refresh_now(session: Session, services: Services) -> None:
    """Make every posted card of this session show its current state; raises if Teams refused one."""
    tz = services.timezone
    slt = await services.messenger.has(SLT_CHANNEL)
    pairs: list[tuple[CardRef | None, Callable[[], Card]]] = [
        (session.status_card, lambda: views.status_card(session, services.profile, tz, slt_channel=slt)),
        (session.register_card, lambda: views.register_card(session, services.profile, tz)),
        (session.request_card, lambda: views.request_card(session, tz)),
        (session.recording_card, lambda: views.recording_card(session, tz, recording_sentence(services))),
    ]
    failed = 0
    for ref, build in pairs:
        if ref is not None and not await update_quietly(services.messenger, ref, build(), record=session.ref):
            failed += 1
    if failed:
        raise ExternalServiceError(texts.CARD_UPDATE_FAILED)


def tell(
    s: Session, services: Services, person: PersonRef | None, title: str, line: str, *, unless: str | None = None
) -> None:
    """Owe a short personal message to one person of a session (not to ``unless``, who acted);
    written with the change that owes it, posted by the outbox."""
    if person is None or not person.aad_id or person.aad_id == unless:
        return
    s.owe("notice", due=_now(services), args={"to": user_key(person.aad_id), "title": title, "text": line})


def tell_accepted(s: Session, services: Services) -> None:
    name = s.second_adult.name if s.second_adult else ""
    tell(
        s,
        services,
        s.organiser,
        texts.TOLD_ACCEPTED_TITLE,
        texts.TOLD_ACCEPTED.format(name=name, ref=s.ref, when=views.when(s, services.timezone)),
    )


def tell_ready(s: Session, services: Services) -> None:
    line = texts.TOLD_READY_LOCAL if s.meeting and s.meeting.local else texts.TOLD_READY
    tell(
        s, services, s.organiser, texts.TOLD_READY_TITLE, line.format(ref=s.ref, when=views.when(s, services.timezone))
    )


def tell_may_give_up(s: Session, services: Services) -> None:
    deadline = s.booking.start - timedelta(minutes=services.school.second_adult.give_up_before_start_minutes)
    at = views.hhmm_on(deadline, services.timezone)
    tell(s, services, s.organiser, texts.TOLD_MAY_GIVE_UP_TITLE, texts.TOLD_MAY_GIVE_UP.format(ref=s.ref, at=at))


def tell_cancelled(s: Session, services: Services, *, by: str | None) -> None:
    line = texts.TOLD_CANCELLED.format(ref=s.ref, when=views.when(s, services.timezone))
    tell(s, services, s.organiser, texts.TOLD_CANCELLED_TITLE, line, unless=by)
    tell(s, services, s.second_adult, texts.TOLD_CANCELLED_TITLE, line, unless=by)


def tell_changed(s: Session, services: Services, what: str, *, by: str | None) -> None:
    tell(
        s,
        services,
        s.second_adult,
        texts.TOLD_CHANGED_TITLE,
        texts.TOLD_CHANGED.format(ref=s.ref, what=what),
        unless=by,
    )


def is_party(actor: Actor, s: Session) -> bool:
    """The organiser or the second adult of the session."""
    ids = {actor.key, (actor.email or "").casefold()}
    people = [s.organiser] + ([s.second_adult] if s.second_adult else [])
    return any(p.aad_id in ids or (p.email or "").casefold() in ids - {""} for p in people)


def eligible(actor: Actor, session: Session) -> bool:
    return actor.key != session.organiser.aad_id and any(
        actor.has(q) for q in session.qualifies if q != AdultRole.PARENT.value
    )


class _Applied(Exception):
    """The action was applied before (a retry): nothing to write."""


async def accept_second(actor: Actor, ref: str, services: Services) -> Session:
    """First eligible accept wins (optimistic concurrency on the session record); the same
    person accepting again (a retry, a double click) gets the same answer."""
    if not actor.email:
        raise NotPermitted(texts.NO_EMAIL, hint=texts.NO_EMAIL_HINT)
    key = f"accept:{actor.key}"

    def change(s: Session) -> None:
        if s.has_applied(key):
            raise _Applied()
        if actor.key == s.organiser.aad_id:
            raise NotPermitted(texts.OWN_SESSION.format(ref=s.ref), hint=texts.OWN_SESSION_HINT)
        if s.state is not State.AWAITING_SECOND_ADULT:
            if s.second_adult:
                raise AlreadyCovered(s)
            raise Conflict(texts.NOT_WAITING.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        if not eligible(actor, s):
            raise NotPermitted(texts.NOT_ELIGIBLE.format(ref=s.ref, who=who(s.qualifies)), hint=texts.ROLE_HINT)
        role = next(q for q in s.qualifies if actor.has(q))
        now = _now(services)
        s.second_adult = PersonRef(name=actor.name, email=actor.email, aad_id=actor.aad_id, role=role)
        s.move(State.CONFIRMED, at=now, by=actor.key)
        s.apply_key(key)
        s.owe("refresh", due=now)
        s.owe("schedule", due=now)
        tell_accepted(s, services)

    try:
        session = await services.sessions.update(ref, change)
    except _Applied:
        session, _ = await services.sessions.get(ref)
        kick(session, services)
        return session
    await services.audit.record(
        at=_now(services),
        who=actor.key,
        action="session.second_adult",
        record=session.ref,
        detail="accepted; state=confirmed",
    )
    log.info("second adult accepted ref=%s by=%s", session.ref, actor.key)
    kick(session, services)
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
    second = (
        Invitee(session.second_adult.name, session.second_adult.email)
        if session.second_adult and session.second_adult.email
        else None
    )
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
SAFEGUARDING_SETTINGS = frozenset(
    {
        "lobbyBypassSettings",
        "allowedLobbyAdmitters",
        "allowedPresenters",
        "allowMeetingChat",
        "allowRecording",
        "recordAutomatically",
        "allowTranscription",
        "allowAttendeeToEnableCamera",
        "allowAttendeeToEnableMic",
    }
)
INVITING = "inviting families"


def _organiser_id(s: Session) -> str:
    return s.organiser.aad_id or s.organiser.email or ""


def retry_delay(services: Services, attempt: int) -> timedelta:
    """How long before attempt ``attempt + 1``: services.meeting_retry_delays in turn, then its last
    (the cap) for ever."""
    delays = services.meeting_retry_delays or (600.0,)
    return timedelta(seconds=delays[min(attempt, len(delays) - 1)])


async def schedule(s: Session, services: Services, *, attempt: int = 0) -> Apply | None:
    """One attempt at the meeting of a confirmed session, lock before invite: the event with the
    staff only, the protocol's settings applied and read back, and only then the families. Returns
    what to write with the job's "done": the session scheduled, or (after a failure shown on the
    card and told to SLT, IT and, for a safeguarding setting, the DSL) the next attempt owed after
    a capped backoff, until it succeeds, the session is cancelled, or its start time passes."""
    if s.state is not State.CONFIRMED:
        return None
    now = _now(services)
    until = quiet_until(services.profile, services.school.policy_facts(), now)
    if until is not None and until > now:  # the protocol's quiet hours: invitations to families wait

        def hold(x: Session) -> None:
            if x.state is State.CONFIRMED:
                x.problem = MeetingProblem(code="quiet_hours", until=until)
                x.owe("refresh", due=now)
                x.owe("schedule", due=until, args={"attempt": attempt})

        return hold
    if now >= s.booking.start:
        return await _too_late(s, services)
    try:
        opened = await _open_meeting(s, services)
    except ExternalServiceError as exc:
        return await _meeting_failed(s, exc, attempt, services)
    if opened is None:
        return None  # cancelled while a step ran: the event was withdrawn
    meeting = opened.meeting
    await services.audit.record(
        at=now,
        who="chaperone",
        action="session.scheduled",
        record=s.ref,
        detail=f"local={meeting.local if meeting else '-'}",
    )
    log.info("meeting ready ref=%s local=%s attempts=%d", s.ref, meeting.local if meeting else "-", attempt + 1)

    def ready(x: Session) -> None:
        if x.state is State.CONFIRMED:
            x.problem = None
            x.move(State.SCHEDULED, at=now, by=None)
            x.owe("refresh", due=now)
            tell_ready(x, services)

    return ready


async def _open_meeting(session: Session, services: Services) -> Session | None:
    """One attempt at the three steps, each stored and audited as it completes (so a cancel always
    knows the event). None when the session was cancelled meanwhile (the event is then withdrawn)."""
    request = meeting_request(session, services)
    provider, ref = services.meetings, session.ref
    meeting = session.meeting
    if meeting is None:
        meeting = await provider.create_event(request)
        staff = sum(1 for i in invitations(request) if not i.family)
        kept = await _keep_meeting(
            ref,
            meeting,
            services,
            "meeting.event_created",
            f"event={meeting.event_id} meeting={meeting.meeting_id} staff={staff} families=0",
        )
        if kept is None:
            return None
    if meeting.families_invited:
        return session
    meeting = await provider.lock(
        meeting, request
    )  # again on every attempt: the settings must hold right before the invitations
    kept = await _keep_meeting(
        ref,
        meeting,
        services,
        "meeting.locked",
        f"meeting={meeting.meeting_id} settings={len(meeting.settings)} read_back=equal",
    )
    if kept is None:
        return None
    await services.sessions.update(ref, lambda s: s.note(INVITING, at=_now(services), by=None), attempts=KEEP_ATTEMPTS)
    meeting = await provider.invite_families(meeting, request)
    families = sum(1 for i in invitations(request) if i.family)
    return await _keep_meeting(
        ref,
        meeting,
        services,
        "meeting.families_invited",
        f"event={meeting.event_id} families={families} hidden={hides_attendees(request)}",
    )


async def _keep_meeting(ref: str, meeting: Meeting, services: Services, action: str, detail: str) -> Session | None:
    """Store the meeting as it now is and audit the step; if the session was cancelled meanwhile,
    owe the withdrawal of the event in the same write and return None."""

    def keep(s: Session) -> None:
        s.meeting = meeting
        if s.state is not State.CONFIRMED:  # cancelled by a person meanwhile
            s.owe("withdraw", due=_now(services))

    session = await services.sessions.update(ref, keep, attempts=KEEP_ATTEMPTS)  # losing it would lose the event
    await services.audit.record(at=_now(services), who="chaperone", action=action, record=ref, detail=detail)
    if session.state is State.CONFIRMED:
        return session
    log.info("session cancelled while its meeting was opened ref=%s; withdrawing the event", ref)
    kick(session, services)
    return None


async def _meeting_failed(s: Session, exc: ExternalServiceError, attempt: int, services: Services) -> Apply:
    """Show the failure on the card and owe the next attempt; tell SLT (and the DSL for a
    safeguarding setting) once per new problem."""
    reason = str(getattr(exc, "reason", "unknown"))
    fields: tuple[str, ...] = tuple(getattr(exc, "fields", ()) or ())
    retryable = bool(getattr(exc, "retryable", True))
    if retryable and attempt < len(services.meeting_retry_delays) - 1:
        problem = MeetingProblem(code="retrying")  # a passing blip alarms nobody; a lasting one is told below
    elif fields:
        safeguarding = bool(set(fields) & SAFEGUARDING_SETTINGS)
        problem = MeetingProblem(
            code="not_locked_safeguarding" if safeguarding else "not_locked", error=reason, fields=fields
        )
    else:  # lasting, or needs a person (credentials, access policy): IT are told now
        problem = MeetingProblem(code="failed", error=reason)
    log.warning(
        "meeting step failed ref=%s code=%s reason=%s status=%s request_id=%s attempt=%d",
        s.ref,
        problem.code,
        reason,
        getattr(exc, "status", None),
        getattr(exc, "request_id", None),
        attempt + 1,
    )
    now = _now(services)
    new = s.problem != problem
    if new:
        await services.audit.record(
            at=now,
            who="chaperone",
            action="meeting.failed",
            record=s.ref,
            detail=describe(
                {
                    "code": problem.code,
                    "reason": reason,
                    "status": getattr(exc, "status", None),
                    "request_id": getattr(exc, "request_id", None),
                    "fields": ",".join(fields),
                }
            ),
        )
    step = "lock" if fields else "create"
    dsl = problem.code == "not_locked_safeguarding"
    if new and problem.code != "retrying":
        log.error("meeting needs IT ref=%s step=%s reason=%s fields=%s", s.ref, step, reason, ",".join(fields))
        for channel in (SLT_CHANNEL, SAFEGUARDING_CHANNEL) if dsl else (SLT_CHANNEL,):
            await services.audit.record(
                at=now,
                who="chaperone",
                action="meeting.told",
                record=s.ref,
                detail=f"channel={channel} step={step} reason={reason}",
            )
    due = now + retry_delay(services, attempt)

    def flag(x: Session) -> None:
        if x.state is not State.CONFIRMED:
            return
        if x.problem != problem:
            x.problem = problem
            x.owe("refresh", due=now)
            if problem.code != "retrying":
                _tell(x, services, step, reason, fields, dsl=dsl)
        x.owe("schedule", due=due, args={"attempt": attempt + 1})

    return flag


def _tell(s: Session, services: Services, step: str, reason: str, fields: tuple[str, ...], *, dsl: bool) -> None:
    """Owe SLT (and the DSL) a notice in their channels: reference, organiser, what failed and what
    IT must do; never a pupil's name."""
    labels = ", ".join(texts.SETTING_LABELS.get(f, f) for f in fields)
    what = texts.GRAPH_FAILURES.get(reason, texts.GRAPH_FAILURES["unknown"])
    hint = texts.GRAPH_HINTS.get(reason, texts.MEETING_NOTICE_HINT)
    line = texts.MEETING_NOTICE.format(
        ref=s.ref,
        organiser=s.organiser.name,
        what=what,
        step=texts.MEETING_NOTICE_STEP[step].format(fields=labels),
        hint=hint,
    )
    for channel in (SLT_CHANNEL, SAFEGUARDING_CHANNEL) if dsl else (SLT_CHANNEL,):
        s.owe("notice", due=_now(services), args={"to": channel, "title": texts.MEETING_NOTICE_TITLE, "text": line})


async def _cancel_unless_moved(
    ref: str, services: Services, *, still: State, code: Literal["too_late", "no_second_adult"]
) -> Session | None:
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


async def _too_late(s: Session, services: Services) -> Apply | None:
    """The start time passed before the meeting was ready: the session cannot go ahead."""
    session = await _cancel_unless_moved(s.ref, services, still=State.CONFIRMED, code="too_late")
    if session is None:
        return None
    await services.audit.record(
        at=_now(services), who="chaperone", action="session.cancelled", record=s.ref, detail="reason=too_late"
    )
    log.warning("session cannot go ahead: meeting not ready by the start ref=%s", s.ref)

    def tell_slt(x: Session) -> None:
        x.owe("withdraw", due=_now(services), args={"keep_problem": True})
        x.owe("refresh", due=_now(services))
        text = texts.MEETING_TOO_LATE_NOTICE.format(ref=x.ref, organiser=x.organiser.name)
        x.owe(
            "notice", due=_now(services), args={"to": SLT_CHANNEL, "title": texts.MEETING_TOO_LATE_TITLE, "text": text}
        )
        tell_cancelled(x, services, by=None)

    return tell_slt


async def cancellable(actor: Actor, ref: str, services: Services) -> Session:
    """The session, if this actor may cancel it now (its organiser or SLT, and it is still open)."""
    session, _ = await services.sessions.get(ref)
    if actor.key != session.organiser.aad_id and not actor.has("slt"):
        raise NotPermitted(texts.CANCEL_NOT_YOURS.format(ref=session.ref))
    if not session.open:
        raise Conflict(texts.NOT_OPEN.format(ref=session.ref, state=texts.STATE_LABELS[session.state.value]))
    return session


async def cancel(actor: Actor, ref: str, services: Services) -> Session:
    session, _ = await services.sessions.get(ref)
    if session.state is State.CANCELLED and session.history and session.history[-1].by == actor.key:
        return session  # this person's cancel, retried: the same answer
    session = await cancellable(actor, ref, services)
    return await cancel_session(session.ref, services, by=actor.key)


async def cancel_session(ref: str, services: Services, *, by: str, comment: str | None = None) -> Session:
    """Close the session in the register and owe, in the same write, the cancelling of its event
    whatever step the meeting reached (families on it are told by the calendar), the card updates
    and the people told; the card then says whether families were told."""

    def change(s: Session) -> None:
        if not s.open:
            raise Conflict(texts.NOT_OPEN.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        now = _now(services)
        s.move(State.CANCELLED, at=now, by=by)
        if s.meeting is None:  # no event yet (one being made now is withdrawn when it is stored)
            s.problem = MeetingProblem(code="cancelled_none_invited")
        else:
            s.problem = MeetingProblem(code="cancelling")
            s.owe("withdraw", due=now, args={"comment": comment} if comment else None)
        s.owe("refresh", due=now)
        tell_cancelled(s, services, by=by)

    session = await services.sessions.update(ref, change)
    await services.audit.record(at=_now(services), who=by, action="session.cancelled", record=session.ref)
    kick(session, services)
    return session


def _families_reached(s: Session) -> bool:
    """Whether families may hold an invitation: invited, or an invitation was attempted."""
    return bool(s.meeting and s.meeting.families_invited) or any(e.what == INVITING for e in s.history)


async def _withdraw(s: Session, job: Job, services: Services) -> Apply | None:
    """Cancel the event of a cancelled session, if it has one, and record on the card whether
    families were told; when Microsoft 365 refuses, say so and try again later (until its end)."""
    attempt = int(job.args.get("attempt", 0))
    comment = str(job.args.get("comment") or texts.CANCEL_COMMENT.format(ref=s.ref))
    now = _now(services)
    told = _families_reached(s)
    problem = MeetingProblem(code="cancelled_families_told" if told else "cancelled_none_invited")
    meeting = s.meeting
    if meeting is not None:
        if attempt and now >= s.booking.end:
            log.warning("event of cancelled session %s still not withdrawn at its end", s.ref)
            return None
        try:
            await services.meetings.cancel(meeting, organiser_id=_organiser_id(s), comment=comment)
        except ExternalServiceError as exc:
            if getattr(exc, "code", None) != "ErrorItemNotFound":  # already gone: nothing left to withdraw
                reason = str(getattr(exc, "reason", "unknown"))
                log.warning(
                    "event cancel failed ref=%s reason=%s request_id=%s",
                    s.ref,
                    reason,
                    getattr(exc, "request_id", None),
                )
                problem = MeetingProblem(code="cancel_pending_families" if told else "cancel_pending", error=reason)
        pending = problem.code.startswith("cancel_pending")
        detail = (
            f"event={meeting.event_id} pending reason={problem.error}"
            if pending
            else f"event={meeting.event_id} families_told={told} attempts={attempt + 1}"
        )
        await services.audit.record(
            at=now,
            who="chaperone",
            action="meeting.cancel_failed" if pending else "meeting.event_cancelled",
            record=s.ref,
            detail=detail,
        )
    pending = problem.code.startswith("cancel_pending")
    keep = bool(job.args.get("keep_problem"))

    def note(x: Session) -> None:
        was_pending = bool(x.problem and x.problem.code.startswith("cancel_pending"))
        if not keep or pending or was_pending:
            x.problem = problem
        x.owe("refresh", due=now)
        if pending:
            if not was_pending:
                _tell(x, services, "cancel", problem.error or "unknown", (), dsl=False)
            x.owe("withdraw", due=now + retry_delay(services, attempt), args={**job.args, "attempt": attempt + 1})

    return note


async def collect_attendance(ref: str, services: Services) -> bool:
    """After /end: one try at the attendance report (it appears only after the meeting ends),
    merged into the register with its gaps flagged; True when there is nothing (more) to fetch."""
    session, _ = await services.sessions.get(ref)
    if not session.meeting or session.meeting.local:
        return True
    try:
        attendees = await services.meetings.attendance(session.meeting, organiser_id=session.organiser.aad_id or "")
    except ExternalServiceError as exc:
        log.warning("attendance fetch failed ref=%s error=%s", ref, type(exc).__name__)
        return False
    if attendees is None:
        return False

    def keep(s: Session) -> None:
        assert s.closure is not None
        s.closure.attendance, s.closure.flags = merge(s, attendees)
        s.owe("refresh", due=_now(services))

    session = await services.sessions.update(ref, keep)
    await services.audit.record(
        at=_now(services),
        who="chaperone",
        action="session.attendance",
        record=ref,
        detail=f"flags={len(session.closure.flags) if session.closure else 0}",
    )
    kick(session, services)
    return True


async def verify_meeting(ref: str, services: Services, *, by: str) -> tuple[Session, list[Drift]]:
    """Re-read the meeting's settings, put back any that drifted, and tell SLT when something had."""
    session, _ = await services.sessions.get(ref)
    if session.state is not State.SCHEDULED or not session.meeting:
        raise Conflict(texts.END_NOT_SCHEDULED.format(ref=session.ref, state=texts.STATE_LABELS[session.state.value]))
    drift = await services.meetings.verify(session.meeting, organiser_id=session.organiser.aad_id or "", repair=True)
    fields = ", ".join(d.field for d in drift)
    await services.audit.record(
        at=_now(services), who=by, action="meeting.verified", record=session.ref, detail=f"drift={fields or 'none'}"
    )
    if drift:
        log.warning("meeting settings drifted ref=%s fields=%s", session.ref, fields)

        def tell(s: Session) -> None:
            s.owe(
                "notice",
                due=_now(services),
                args={
                    "to": SLT_CHANNEL,
                    "title": texts.DRIFT_TITLE,
                    "text": texts.DRIFT_TO_SLT.format(ref=s.ref, organiser=s.organiser.name, fields=fields),
                },
            )

        session = await services.sessions.update(ref, tell)
        kick(session, services)
    return session, drift


def needs_recording_decision(session: Session) -> bool:
    return any(r.kind == "recording_approval" for r in session.requirements)


def recording_sentence(services: Services) -> str:
    rule = services.profile.rule(RecordingRule)
    return rule.sentence if rule is not None else ""


async def decide_recording(actor: Actor, ref: str, approve: bool, services: Services) -> Session:
    """SLT approve or decline a recording request; a scheduled meeting's settings follow (a job)."""
    if not actor.has("slt"):
        raise NotPermitted(texts.RECORDING_SLT_ONLY)
    key = f"recording:{actor.key}:{'approve' if approve else 'decline'}"

    def decide(s: Session) -> None:
        if s.has_applied(key):
            raise _Applied()
        if not needs_recording_decision(s):
            raise Conflict(texts.RECORDING_NOT_ASKED.format(ref=s.ref))
        if s.recording_decision is not None:
            raise Conflict(texts.RECORDING_ALREADY.format(ref=s.ref, decision=views.recording_line(s)))
        if not s.open:
            raise Conflict(texts.NOT_OPEN.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
        now = _now(services)
        s.recording_decision = "approved" if approve else "declined"
        s.recording_decided_by = PersonRef(name=actor.name, email=actor.email, aad_id=actor.aad_id, role="slt")
        s.note(f"recording {s.recording_decision}", at=now, by=actor.key)
        s.apply_key(key)
        if approve and s.state is State.SCHEDULED and s.meeting:
            s.owe("recording_settings", due=now)
        else:
            s.owe("refresh", due=now)
        tell_changed(s, services, views.recording_line(s), by=actor.key)

    try:
        session = await services.sessions.update(ref, decide)
    except _Applied:
        session, _ = await services.sessions.get(ref)
        return session
    await services.audit.record(
        at=_now(services), who=actor.key, action=f"recording.{session.recording_decision}", record=session.ref
    )
    kick(session, services)
    return session


async def _recording_settings(session: Session, job: Job, services: Services) -> Apply | None:
    """Allow recording on the meeting now that SLT approved it, then show it on the cards."""
    if not session.meeting or session.state is not State.SCHEDULED:
        return None
    settings = meeting_settings(services.profile, session.booking, recording_approved=True)
    meeting = session.meeting.model_copy(update={"settings": settings})
    await services.meetings.verify(meeting, organiser_id=session.organiser.aad_id or "", repair=True)

    def keep(s: Session) -> None:
        if s.meeting is not None:
            s.meeting = s.meeting.model_copy(update={"settings": settings})
        s.owe("refresh", due=_now(services))

    return keep


def started(session: Session, services: Services) -> bool:
    return session.booking.start <= _now(services)


async def closable(actor: Actor, ref: str, services: Services) -> Session:
    """The session, if this actor may end it (its organiser or second adult, and it is scheduled)."""
    s, _ = await services.sessions.get(ref)
    if not is_party(actor, s):
        raise NotPermitted(texts.END_NOT_YOURS.format(ref=s.ref))
    if s.state is not State.SCHEDULED:
        raise UsageError(texts.END_NOT_SCHEDULED.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
    return s


async def end_session(
    actor: Actor, ref: str, closure: Closure, services: Services, *, key: str | None = None
) -> tuple[Session, list[str]]:
    """Close the register entry with what /end recorded; returns the session and the protocol's
    instructions for an early end (e.g. "inform the DSL"). A session that has not started can only
    be recorded as "did not take place" (no attendance). A retried submit (same ``key``) returns
    the session as it was closed."""
    key = key or f"end:{actor.key}"

    def close(x: Session) -> None:
        if x.has_applied(key):
            raise _Applied()
        if x.state is not State.SCHEDULED:
            raise UsageError(texts.END_NOT_SCHEDULED.format(ref=x.ref, state=texts.STATE_LABELS[x.state.value]))
        if closure.outcome != "did_not_take_place" and not started(x, services):
            raise UsageError(texts.END_NOT_STARTED.format(ref=x.ref), hint=texts.END_NOT_STARTED_HINT)
        x.closure = closure
        x.move(State.ENDED, at=closure.closed_at, by=actor.key)
        x.apply_key(key)
        x.owe("refresh", due=closure.closed_at)
        if closure.outcome != "did_not_take_place":
            x.owe("attendance", due=closure.closed_at)
        elif x.meeting and not started(x, services):
            x.owe("cancel_meeting", due=closure.closed_at)  # families must not join a session that will not happen

    try:
        s = await services.sessions.update(ref, close)
    except _Applied:
        s, _ = await services.sessions.get(ref)
        kick(s, services)
        return s, [note for note, _ in breach_notes(services.profile, s.closure.early_reason if s.closure else None)]
    await services.audit.record(
        at=closure.closed_at,
        who=actor.key,
        action="session.ended",
        record=s.ref,
        detail=f"outcome={closure.outcome} reason={closure.early_reason or '-'}",
    )
    kick(s, services)
    return s, [note for note, _ in breach_notes(services.profile, closure.early_reason)]


REMINDED = "reminded"
POSTS = ("post_register", "post_request", "post_recording")


# --- the jobs a session owes (run by bot/outbox.py) --------------------------------------
async def _post(services: Services, key: str, card: Card) -> CardRef:
    """Post or raise (so the outbox retries): a missing channel set-up is a failure too."""
    return await services.messenger.post(key, card)


async def _post_register(s: Session, job: Job, services: Services) -> Apply | None:
    if s.register_card:
        return None
    posted = await _post(services, SAFEGUARDING_CHANNEL, views.register_card(s, services.profile, services.timezone))
    return _keep_card("register_card", posted, job.kind, _shown(s))


async def _post_request(s: Session, job: Job, services: Services) -> Apply | None:
    if s.request_card or s.state is not State.AWAITING_SECOND_ADULT:
        return None
    posted = await _post(services, SLT_CHANNEL, views.request_card(s, services.timezone))
    return _keep_card("request_card", posted, job.kind, _shown(s))


async def _post_recording(s: Session, job: Job, services: Services) -> Apply | None:
    if s.recording_card or not needs_recording_decision(s):
        return None
    posted = await _post(
        services, SLT_CHANNEL, views.recording_card(s, services.timezone, recording_sentence(services))
    )
    return _keep_card("recording_card", posted, job.kind, _shown(s))


def _shown(s: Session) -> Any:
    """What the session's cards show (to tell whether a card posted from an older copy is stale)."""
    return s.model_dump(
        mode="json",
        include={"state", "second_adult", "meeting", "problem", "closure", "recording_decision", "undelivered"},
    )


def _keep_card(field: str, posted: CardRef, kind: str, shown: Any) -> Apply:
    def keep(x: Session) -> None:
        if getattr(x, field) is None:
            setattr(x, field, posted)
        if kind in x.undelivered:
            x.undelivered = [k for k in x.undelivered if k != kind]
            x.owe("refresh", due=x.updated_at)  # the teacher's card no longer needs the warning
        if _shown(x) != shown:  # the session moved on while the card was being posted
            x.owe("refresh", due=x.updated_at)

    return keep


async def _refresh(s: Session, job: Job, services: Services) -> Apply | None:
    await _refresh_now(s, services)
    return None


async def _schedule(s: Session, job: Job, services: Services) -> Apply | None:
    return await schedule(s, services, attempt=int(job.args.get("attempt", 0)))


async def _attendance(s: Session, job: Job, services: Services) -> Apply | None:
    """Fetch the attendance report; not there yet: try again after the backoff, a few times."""
    if await collect_attendance(s.ref, services):
        return None
    attempt = int(job.args.get("attempt") or 0)
    if attempt >= len(services.meeting_retry_delays):
        log.warning(
            "attendance report not available ref=%s; run `chaperone meetings attendance %s` later", s.ref, s.ref
        )
        return None
    due = _now(services) + retry_delay(services, attempt)
    return lambda x: x.owe("attendance", due=due, args={"attempt": attempt + 1})


async def _meeting_check(s: Session, job: Job, services: Services) -> Apply | None:
    """Shortly before the start: re-read the meeting's settings, put back drift, tell SLT."""
    if s.state is not State.SCHEDULED or not s.meeting:
        return None
    await verify_meeting(s.ref, services, by="chaperone")
    return None


async def _cancel_meeting(s: Session, job: Job, services: Services) -> Apply | None:
    """Cancel the meeting of a session recorded as "did not take place" before its start (the calendar tells families)."""
    if s.meeting is None:
        return None
    await services.meetings.cancel(
        s.meeting,
        organiser_id=s.organiser.aad_id or s.organiser.email or "",
        comment=texts.CANCEL_COMMENT.format(ref=s.ref),
    )
    return None


async def _notice(s: Session, job: Job, services: Services) -> Apply | None:
    to = str(job.args["to"])
    if to.startswith("user:") and not await services.messenger.has(to):
        log.info("personal notice not sent ref=%s job=%s: no personal chat with the bot yet", s.ref, job.id)
        return None  # nobody to reach until they open a chat with the bot; the cards carry the news
    await _post(
        services,
        to,
        views.notice_card(str(job.args["title"]), str(job.args["text"]), shared=not to.startswith("user:")),
    )
    return None


async def _remind(s: Session, job: Job, services: Services) -> Apply | None:
    """Remind SLT once that a second adult is still needed."""
    if s.state is not State.AWAITING_SECOND_ADULT or any(e.what == REMINDED for e in s.history):
        return None
    card = views.request_card(s, services.timezone, headline=texts.REMINDER_HEADLINE.format(organiser=s.organiser.name))
    posted = await _post(services, SLT_CHANNEL, card)
    log.info("second-adult reminder sent ref=%s", s.ref)

    def mark(x: Session) -> None:
        x.note(REMINDED, at=_now(services), by=None)
        if not x.request_card:
            x.request_card = posted
        tell_may_give_up(x, services)

    return mark


async def _give_up(s: Session, job: Job, services: Services) -> Apply | None:
    """Nobody accepted in time: cancel before the start and tell the teacher (once)."""
    if s.state is not State.AWAITING_SECOND_ADULT:
        return None

    def cancel(x: Session) -> None:
        if x.state is not State.AWAITING_SECOND_ADULT:
            return  # someone accepted at the last moment
        x.problem = MeetingProblem(code="no_second_adult")
        x.move(State.CANCELLED, at=_now(services), by=None)
        x.owe("refresh", due=_now(services))
        tell_cancelled(x, services, by=None)

    await services.audit.record(
        at=_now(services), who="chaperone", action="session.cancelled", record=s.ref, detail="reason=no_second_adult"
    )
    log.info("session cancelled: no second adult ref=%s", s.ref)
    return cancel


def _stuck(s: Session, job: Job, services: Services, now: datetime) -> None:
    """A post keeps failing: the teacher's card says so and SLT is told (never silence). Card
    updates that fail are retried quietly (the record holds the truth; the next update shows it)."""
    if job.kind not in POSTS:
        return
    if job.kind not in s.undelivered:
        s.undelivered = [*s.undelivered, job.kind]
    s.owe("refresh", due=now)
    s.owe(
        "notice",
        due=now,
        args={
            "to": SLT_CHANNEL,
            "title": texts.UNDELIVERED_TITLE,
            "text": texts.UNDELIVERED_TO_SLT.format(ref=s.ref, organiser=s.organiser.name),
        },
    )


JOBS: dict[str, Handler] = {
    "post_register": _post_register,
    "post_request": _post_request,
    "post_recording": _post_recording,
    "refresh": _refresh,
    "schedule": _schedule,
    "attendance": _attendance,
    "meeting_check": _meeting_check,
    "notice": _notice,
    "cancel_meeting": _cancel_meeting,
    "withdraw": _withdraw,
    "remind": _remind,
    "give_up": _give_up,
    "recording_settings": _recording_settings,
}


def _repo(services: Services) -> Any:
    return services.sessions


def owe_open(s: Session, services: Services, now: datetime) -> None:
    """What an open session owes from where it stands: its channel cards, then (waiting) the
    reminder and the give-up or (confirmed) the meeting, the recording decision, and the meeting
    check before the start. Written with the booking, or at start-up for a session stored before the outbox."""
    rules = services.school.second_adult
    s.owe("post_register", due=now)
    if s.state is State.AWAITING_SECOND_ADULT:
        s.owe("post_request", due=now)
        if not any(e.what == REMINDED for e in s.history):
            s.owe("remind", due=s.created_at + timedelta(minutes=rules.remind_after_minutes))
        s.owe("give_up", due=s.booking.start - timedelta(minutes=rules.give_up_before_start_minutes))
    elif s.state is State.CONFIRMED:
        s.owe("schedule", due=now)
    if needs_recording_decision(s):
        s.owe("post_recording", due=now)
    s.owe("meeting_check", due=s.booking.start - MEETING_CHECK_BEFORE)


async def adopt(services: Services) -> int:
    """Open sessions stored before the outbox existed owe what a new booking owes from where they stand."""
    return await jobs.adopt(
        services.sessions, await services.sessions.open_sessions(), lambda x: owe_open(x, services, _now(services))
    )


JOB_KIND = Kind(
    table=TABLE,
    repo=_repo,
    handlers=JOBS,
    stuck=_stuck,
    leases={"schedule": timedelta(minutes=15), "attendance": timedelta(hours=1)},
)
