"""The engine never raises on any valid booking, is deterministic, and is right across the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.policy.booking import Booking
from bot.policy.engine import evaluate
from bot.policy.loader import bundled, bundled_ids
from tests.policy.helpers import SCHOOL, base, decide

emails = st.sampled_from(
    ["a@example.org", "b@pupils.example.org", "c@example.com", "sam.senior@example.org", "x@mail.example.net"]
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
moments = st.builds(
    lambda dt, tz: dt.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    offsets,
)
pupil = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=12).filter(str.strip),
        "consent": st.sampled_from(["signed", "implied", "none"]),
    },
    optional={"parent_email": emails, "school_email": emails},
)
bookings = st.fixed_dictionaries(
    {
        "organiser": st.fixed_dictionaries({"name": st.just("Tara Teacher"), "email": emails}),
        "type": st.sampled_from(["group", "one_to_one"]),
        "reason": st.sampled_from(["lesson", "reading", "pastoral", "sen", "music", "therapy", "review"]),
        "start": moments,
        "duration_minutes": st.integers(min_value=1, max_value=600),
        "pupils": st.lists(pupil, min_size=1, max_size=6),
        "second_adult": st.none()
        | st.fixed_dictionaries(
            {"name": st.just("Rowan"), "email": emails, "role": st.sampled_from(["slt", "staff", "parent"])}
        ),
        "recording": st.none() | st.booleans(),
        "chat": st.none() | st.booleans(),
    }
)


@settings(max_examples=300, deadline=None)
@given(raw=bookings, now=moments, pid=st.sampled_from(bundled_ids()))
def test_engine_never_raises_and_is_deterministic(raw: dict, now: datetime, pid: str) -> None:
    try:
        booking = Booking.model_validate(raw)
    except ValidationError:
        return  # malformed bookings are refused before the engine (exit 2 / an error card)
    first = evaluate(bundled(pid), SCHOOL.policy_facts(), booking, now)
    second = evaluate(bundled(pid), SCHOOL.policy_facts(), booking, now)
    assert first == second
    assert first.allowed is (not first.violations)
    for v in first.violations:
        assert v.rule and v.message and v.source.text


@pytest.mark.parametrize(
    ("start_utc", "allowed", "why"),
    [
        ("2026-03-27T08:00:00+00:00", False, "Friday before the March change: 08:00 GMT is before 08:30"),
        ("2026-03-30T08:00:00+00:00", True, "Monday after the March change: 08:00Z is 09:00 BST"),
        ("2026-10-23T08:00:00+00:00", True, "Friday before the October change: 08:00Z is 09:00 BST"),
        ("2026-10-26T08:00:00+00:00", False, "Monday after the October change: 08:00 GMT is before 08:30"),
        ("2026-03-30T14:45:00+00:00", False, "Monday after the March change: 14:45Z + 45 min ends 16:30 BST"),
        ("2026-10-26T14:45:00+00:00", True, "Monday after the October change: ends 15:30 GMT"),
    ],
)
def test_school_hours_follow_the_clock_changes(start_utc: str, allowed: bool, why: str) -> None:
    booking = base()
    booking["start"] = start_utc
    now = datetime.fromisoformat(start_utc) - timedelta(days=2)
    d = decide("000-two-staff", booking, now)
    hours_broken = any(v.rule == "000.school-hours" for v in d.violations)
    assert hours_broken is (not allowed), why


@pytest.mark.parametrize("sunday", ["2026-03-29T10:00:00+01:00", "2026-10-25T10:00:00+00:00"])
def test_change_sundays_are_not_school_days(sunday: str) -> None:
    booking = base()
    booking["start"] = sunday
    d = decide("000-two-staff", booking, datetime(2026, 3, 1, tzinfo=UTC))
    assert [v.rule for v in d.violations] == ["000.school-hours"]
    assert "Sunday" in d.violations[0].message


@pytest.mark.parametrize(
    ("now", "quiet"),
    [
        ("2026-03-28T06:30:00+00:00", True),  # Saturday 06:30 GMT
        ("2026-03-30T06:30:00+00:00", False),  # Monday 07:30 BST
        ("2026-10-24T17:30:00+00:00", True),  # Saturday 18:30 BST
        ("2026-10-26T17:30:00+00:00", False),  # Monday 17:30 GMT
    ],
)
def test_quiet_hours_follow_the_clock_changes(now: str, quiet: bool) -> None:
    booking = base()
    booking["start"] = "2026-12-02T10:00:00+00:00"
    d = decide("001-recorded", booking, datetime.fromisoformat(now))
    assert (d.requirement("hold_messages") is not None) is quiet


def test_the_same_instant_in_any_offset_gives_the_same_decision() -> None:
    a, b = base(), base()
    a["start"] = "2026-11-25T10:00:00+00:00"
    b["start"] = "2026-11-25T11:00:00+01:00"
    assert decide("004-tces", a) == decide("004-tces", b)


def test_naive_times_are_rejected_before_the_engine() -> None:
    raw = base()
    raw["start"] = "2026-11-25T10:00:00"
    with pytest.raises(ValidationError):
        Booking.model_validate(raw)
