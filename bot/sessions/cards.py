"""Cards for sessions: the organiser's status card, the register card, the SLT request card and the end form."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.meetings.provider import Meeting
from bot.policy.booking import Consent
from bot.policy.meeting import settings_in_words
from bot.policy.model import Profile
from bot.render import render
from bot.sessions.model import Session, State
from bot.texts.policy import who

Card = dict[str, Any]


def when(session: Session, tz: str) -> str:
    start = session.booking.start.astimezone(ZoneInfo(tz))
    end = session.booking.end.astimezone(ZoneInfo(tz))
    return f"{start:%a %d %b %Y}, {start:%H:%M}–{end:%H:%M} ({tz})"


def initials(name: str) -> str:
    return "".join(f"{part[0].upper()}." for part in name.split() if part)


def _type(session: Session) -> str:
    n = len(session.booking.pupils)
    return texts.TYPE_LABELS[session.booking.type.value] + (f" of {n}" if session.booking.type.value == "group" else "")


def _second(session: Session) -> str:
    if session.second_adult:
        return session.second_adult.name
    if session.needs_second_adult:
        return texts.SECOND_ADULT_NEEDED.format(who=who(session.qualifies))
    return texts.SECOND_ADULT_NOT_REQUIRED


def _consents(session: Session) -> str:
    counts: dict[str, int] = {}
    for p in session.booking.pupils:
        counts[p.consent.value] = counts.get(p.consent.value, 0) + 1
    return ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) or "–"


def hhmm_on(at: datetime, tz: str) -> str:
    return f"{at.astimezone(ZoneInfo(tz)):%H:%M on %a %d %b}"


def _hhmm(at: datetime | None, tz: str) -> str:
    return f"{at.astimezone(ZoneInfo(tz)):%H:%M}" if at else ""


def settings_lines(settings: dict[str, Any]) -> list[str]:
    """Meeting settings as a teacher says them ("Only you can let people in from the lobby"); never Graph's values."""
    return settings_in_words(settings)


def settings_facts(meeting: Meeting | None) -> list[str]:
    return settings_lines(meeting.settings) if meeting else []


def _cancelled_text(session: Session) -> str:
    """What cancelling actually did: families are told only if an invitation had gone out."""
    if session.meeting is None:
        return texts.STATUS_TEXT["cancelled_no_invites"]
    return texts.STATUS_TEXT["cancelled_local" if session.meeting.local else "cancelled"]


def status_card(session: Session, profile: Profile, tz: str, *, slt_channel: bool = True) -> Card:
    state = session.state.value
    text = texts.STATUS_TEXT[state]
    if session.state is State.AWAITING_SECOND_ADULT and not slt_channel:
        text = texts.STATUS_TEXT["awaiting_second_adult_no_slt"]
    if session.state is State.SCHEDULED and session.meeting and session.meeting.local:
        text = f"{text} {texts.STATUS_TEXT['scheduled_local']}"
    if session.state is State.CANCELLED:
        text = _cancelled_text(session)
    if session.state in (State.CONFIRMED, State.CANCELLED) and session.problem:
        text = texts.meeting_problem(
            session.problem.code, until=_hhmm(session.problem.until, tz), error=session.problem.error, ref=session.ref
        )
    if session.undelivered:
        text = f"{text} {texts.UNDELIVERED_TO_TEACHER}"
    meeting = session.meeting if session.state is State.SCHEDULED else None
    return render(
        "status",
        {
            "ref": session.ref,
            **_badge(state),
            "status_text": text,
            "facts": [
                {"title": "When", "value": when(session, tz)},
                {"title": "Type", "value": f"{_type(session)} ({session.booking.reason.value})"},
                {"title": "Pupils", "value": ", ".join(p.name for p in session.booking.pupils)},
                {"title": "Second adult", "value": _second(session)},
                {"title": "Protocol", "value": profile.name},
            ],
            "requirements": [
                recording_line(session) if r.kind == "recording_approval" else r.detail for r in session.requirements
            ],
            "meeting": meeting.model_dump() if meeting else None,
            "settings": settings_facts(meeting),
            "join_title": texts.LOCAL_JOIN if meeting and meeting.local else texts.JOIN,
            "checklist": [c.text for c in profile.checklist if c.when == "before"] if meeting else [],
            "can_cancel": session.open,
        },
    )


def cancel_confirm_card(session: Session, *, actor_key: str) -> Card:
    """Before cancelling: who will be told, and what happens to families (only told if invited)."""
    told = []
    if session.organiser.aad_id and session.organiser.aad_id != actor_key:
        told.append(texts.CANCEL_TELLS_ORGANISER.format(name=session.organiser.name))
    if session.second_adult:
        told.append(texts.CANCEL_TELLS_SECOND.format(name=session.second_adult.name))
    if session.request_card or session.recording_card:
        told.append(texts.CANCEL_TELLS_SLT)
    told.append(texts.CANCEL_TELLS_REGISTER)
    if session.meeting is None:
        told.append(texts.CANCEL_NO_FAMILIES)
    elif session.meeting.local:
        told.append(texts.CANCEL_LOCAL)
    else:
        told.append(texts.CANCEL_FAMILIES)
    return render("cancel_confirm", {"ref": session.ref, "summary": when_pupils(session), "told": told})


def when_pupils(session: Session) -> str:
    n = len(session.booking.pupils)
    return f"{session.booking.title or _type(session)}: {n} pupil{'s' if n != 1 else ''}"


def register_card(session: Session, profile: Profile, tz: str) -> Card:
    """The safeguarding channel's entry: no pupil names, only initials (the full record is in the store)."""
    facts = [
        {"title": "When", "value": when(session, tz)},
        {"title": "Type", "value": f"{_type(session)} ({session.booking.reason.value})"},
        {"title": "Organiser", "value": session.organiser.name},
        {"title": "Second adult", "value": _second(session)},
        {"title": "Pupils", "value": ", ".join(initials(p.name) for p in session.booking.pupils)},
        {"title": "Consent", "value": _consents(session)},
        {"title": "Protocol", "value": profile.name},
    ]
    c = session.closure
    if c is not None and c.outcome == "did_not_take_place":
        facts.append({"title": "Outcome", "value": texts.OUTCOME_DID_NOT_TAKE_PLACE})
    elif c is not None and c.actual_start and c.actual_end:
        present = sum(p.present for p in c.pupils)
        facts += [
            {
                "title": "Outcome",
                "value": texts.OUTCOME_COMPLETED
                if c.outcome == "completed"
                else texts.OUTCOME_ENDED_EARLY.format(reason=texts.EARLY_REASON_LABELS.get(c.early_reason or "", "")),
            },
            {
                "title": "Actual times",
                "value": f"{c.actual_start.astimezone(ZoneInfo(tz)):%H:%M}–{c.actual_end.astimezone(ZoneInfo(tz)):%H:%M}",
            },
            {
                "title": "Attendance",
                "value": texts.ATTENDANCE_FACT.format(
                    present=present,
                    total=len(c.pupils),
                    at_start=sum(p.parent_at_start for p in c.pupils),
                    at_end=sum(p.parent_at_end for p in c.pupils),
                )
                + (
                    ""
                    if c.second_adult_throughout is None
                    else texts.ATTENDANCE_SECOND_ADULT[c.second_adult_throughout]
                ),
            },
        ]
        if c.flags:
            facts.append({"title": "Check", "value": texts.attendance_flags(list(c.flags))})
    if session.meeting and session.state in (State.SCHEDULED, State.ENDED):
        facts.append({"title": "Meeting settings", "value": "; ".join(settings_facts(session.meeting))})
    state = session.state.value
    return render(
        "register",
        {
            "ref": session.ref,
            **_badge(state),
            "facts": facts,
        },
    )


def recording_line(session: Session) -> str:
    who_ = session.recording_decided_by.name if session.recording_decided_by else ""
    if session.recording_decision == "approved":
        return texts.RECORDING_APPROVED.format(name=who_)
    if session.recording_decision == "declined":
        return texts.RECORDING_DECLINED.format(name=who_)
    return next(r.detail for r in session.requirements if r.kind == "recording_approval")


def recording_card(session: Session, tz: str, sentence: str) -> Card:
    waiting = session.recording_decision is None and session.open
    headline = texts.RECORDING_ASKED.format(organiser=session.organiser.name) if waiting else recording_line(session)
    return render(
        "recording_request",
        {
            "ref": session.ref,
            "headline": headline,
            "headline_style": "warning" if waiting else "good",
            "facts": request_facts(session, tz)[:3],
            "sentence": f"\u201c{sentence}\u201d",
            "open": waiting,
        },
    )


def request_facts(session: Session, tz: str) -> list[dict[str, str]]:
    return [
        {"title": "When", "value": when(session, tz)},
        {"title": "Organiser", "value": session.organiser.name},
        {"title": "Type", "value": f"{_type(session)} ({session.booking.reason.value})"},
        *([{"title": "Who qualifies", "value": who(session.qualifies)}] if session.qualifies else []),
    ]


def request_card(session: Session, tz: str, *, headline: str | None = None) -> Card:
    waiting = session.state is State.AWAITING_SECOND_ADULT
    heading = texts.REQUEST_HEADINGS["waiting" if waiting else "covered" if session.second_adult else "closed"]
    style = "warning" if waiting else "good" if session.second_adult else "emphasis"
    if headline:
        pass
    elif waiting:
        headline = f"{texts.STATE_ICONS['awaiting_second_adult']} " + texts.REQUEST_WAITING.format(
            organiser=session.organiser.name, who=who(session.qualifies)
        )
    elif session.second_adult:
        headline = f"{texts.STATE_ICONS['scheduled']} " + texts.REQUEST_COVERED.format(name=session.second_adult.name)
    else:
        headline = texts.STATE_LABELS[session.state.value].capitalize() + "."
    return render(
        "request",
        {
            "ref": session.ref,
            "heading": heading,
            "headline": headline,
            "headline_style": style,
            "facts": request_facts(session, tz),
            "open": waiting,
        },
    )


def request_list_card(sessions: list[Session], tz: str) -> Card:
    return render(
        "request_list",
        {
            "title": texts.OPEN_REQUESTS_TITLE,
            "empty": "" if sessions else texts.NO_OPEN_REQUESTS,
            "requests": [{"ref": s.ref, "summary": when(s, tz), "facts": request_facts(s, tz)} for s in sessions],
        },
    )


def notice_card(title: str, *lines: str, facts: list[dict[str, str]] | None = None, shared: bool = False) -> Card:
    """A short message. Private (personal chat only) unless ``shared``: then it must name no pupil and carry no narrative."""
    return render(
        "notice",
        {
            "title": title,
            "lines": [line for line in lines if line],
            "facts": facts or [],
            "audience": "shared" if shared else "private",
        },
    )


def consent_label(c: Consent) -> str:
    return {"signed": "consent signed", "implied": "consent implied", "none": "no consent"}[c.value]


def end_form(s: Session, tz: str, values: dict[str, Any] | None = None, *, token: str | None = None) -> Card:
    """The end form: nothing chosen or ticked for the teacher (they state who was present); a
    separate button records that the session did not take place (no attendance)."""
    start, end = s.booking.start.astimezone(ZoneInfo(tz)), s.booking.end.astimezone(ZoneInfo(tz))
    vals = {
        "outcome": "",
        "early_reason": "",
        "actual_start": f"{start:%H:%M}",
        "actual_end": f"{end:%H:%M}",
        "note": "",
    }
    vals.update({k: v for k, v in (values or {}).items() if k in vals and v is not None})
    return render(
        "end_form",
        {
            "ref": s.ref,
            "summary": when(s, tz),
            "timezone": tz,
            "values": vals,
            "pupils": [{"name": p.name} for p in s.booking.pupils],
            "second_adult": s.second_adult.name if s.second_adult else "",
            "token": token or uuid.uuid4().hex,
        },
    )


def end_list_card(sessions: list[Session], tz: str) -> Card:
    return render(
        "end_list",
        {
            "title": texts.END_LIST_TITLE,
            "empty": "" if sessions else texts.END_NONE_TODAY,
            "sessions": [{"ref": s.ref, "summary": when(s, tz)} for s in sessions],
        },
    )


def _badge(state: str) -> dict[str, str]:
    """The state badge a session's status and register cards show: label, colour and icon."""
    return {
        "state_label": texts.STATE_LABELS[state].capitalize(),
        "state_style": texts.STATE_STYLES[state],
        "state_icon": texts.STATE_ICONS[state],
    }
