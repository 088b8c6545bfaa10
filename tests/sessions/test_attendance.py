"""Attendance merge: the report's join/leave times labelled by role, and the flags the DSL needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.meetings.provider import AttendanceInterval, Attendee
from bot.policy.booking import Booking
from bot.sessions.attendance import PUPIL_WITHOUT_STAFF, SECOND_ADULT_GAP, merge
from bot.sessions.model import Closure, PersonRef, PupilAttendance, Session, State
from tests.policy.helpers import base

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def session() -> Session:
    s = Session(
        ref="S-ABC234",
        state=State.ENDED,
        profile_id="000-two-staff",
        booking=Booking.model_validate(base()),
        organiser=PersonRef(name="Tara Teacher", email="tara.teacher@example.org"),
        second_adult=PersonRef(name="Sam Senior", email="sam.senior@example.org", role="slt"),
        created_at=T0,
        updated_at=T0,
    )
    s.closure = Closure(
        outcome="completed",
        actual_start=at(0),
        actual_end=at(45),
        pupils=[PupilAttendance(name="Pip Example", present=True, parent_at_start=True, parent_at_end=True)],
        second_adult_throughout=True,
        closed_by="x",
        closed_at=at(50),
    )
    return s


def person(email: str, *spans: tuple[int, int]) -> Attendee:
    return Attendee(
        name=email.split("@")[0],
        email=email,
        role=None,
        intervals=tuple(AttendanceInterval(at(a), at(b)) for a, b in spans),
    )


def test_clean_session_has_no_flags_and_labels_roles() -> None:
    records, flags = merge(
        session(),
        [
            person("tara.teacher@example.org", (-2, 46)),
            person("sam.senior@example.org", (-1, 46)),
            person("parent.pip@example.com", (1, 44)),
        ],
    )
    assert flags == []
    assert [r["role"] for r in records] == ["organiser", "second adult", "family"]
    assert records[2]["intervals"] == [{"join": at(1).isoformat(), "leave": at(44).isoformat()}]


def test_second_adult_leaving_part_way_is_flagged() -> None:
    _, flags = merge(
        session(),
        [
            person("tara.teacher@example.org", (0, 45)),
            person("sam.senior@example.org", (0, 20), (30, 45)),
            person("parent.pip@example.com", (1, 44)),
        ],
    )
    assert flags == [SECOND_ADULT_GAP]


def test_a_blip_within_tolerance_is_not_flagged() -> None:
    _, flags = merge(
        session(), [person("tara.teacher@example.org", (0, 45)), person("sam.senior@example.org", (0, 20), (21, 45))]
    )
    assert flags == []


def test_family_alone_in_the_meeting_is_flagged() -> None:
    _, flags = merge(
        session(),
        [
            person("tara.teacher@example.org", (10, 45)),
            person("sam.senior@example.org", (10, 45)),
            person("parent.pip@example.com", (0, 44)),
        ],
    )
    assert PUPIL_WITHOUT_STAFF in flags and SECOND_ADULT_GAP in flags
