"""Merge a meeting's attendance report into the register, and flag what the DSL should look at."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.meetings.provider import Attendee
from bot.sessions.model import AttendanceFlag, Session

TOLERANCE = timedelta(minutes=2)
SECOND_ADULT_GAP: AttendanceFlag = "second_adult_gap"
PUPIL_WITHOUT_STAFF: AttendanceFlag = "pupil_without_staff"

Interval = tuple[datetime, datetime]


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _uncovered(window: Interval, cover: list[Interval]) -> timedelta:
    """How much of ``window`` the intervals in ``cover`` leave out."""
    start, end = window
    missing = timedelta()
    cursor = start
    for a, b in cover:
        if b <= cursor or a >= end:
            continue
        if a > cursor:
            missing += a - cursor
        cursor = max(cursor, b)
    if cursor < end:
        missing += end - cursor
    return missing


def merge(session: Session, attendees: list[Attendee]) -> tuple[list[dict[str, Any]], list[AttendanceFlag]]:
    """Per-participant join/leave times labelled by role, and the flags for the register."""
    organiser = (session.organiser.email or "").casefold()
    second = (session.second_adult.email or "").casefold() if session.second_adult else ""
    families = {e.casefold() for p in session.booking.pupils for e in (p.parent_email, p.school_email) if e}
    records, staff, second_iv, others = [], [], [], []
    for a in attendees:
        email = (a.email or "").casefold()
        role = (
            "organiser"
            if email == organiser
            else "second adult"
            if second and email == second
            else "family"
            if email in families
            else "other"
        )
        ivs = [(i.join, i.leave) for i in a.intervals]
        records.append(
            {
                "role": role,
                "email": a.email,
                "intervals": [{"join": joined.isoformat(), "leave": left.isoformat()} for joined, left in ivs],
            }
        )
        if role in ("organiser", "second adult"):
            staff.extend(ivs)
        else:
            others.extend(ivs)
        if role == "second adult":
            second_iv.extend(ivs)
    flags: list[AttendanceFlag] = []
    closure = session.closure
    if session.second_adult and closure is not None and closure.actual_start and closure.actual_end:
        window = (closure.actual_start, closure.actual_end)
        if _uncovered(window, _union(second_iv)) > TOLERANCE:
            flags.append(SECOND_ADULT_GAP)
    staff_union = _union(staff)
    if any(_uncovered(iv, staff_union) > timedelta(minutes=1) for iv in others):
        flags.append(PUPIL_WITHOUT_STAFF)
    return records, flags
