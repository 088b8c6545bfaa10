"""A booking that every bundled profile allows, and the time it is checked at."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from bot.config import EXAMPLE_CONFIG, load_school_config
from bot.policy.booking import Booking
from bot.policy.engine import Decision, evaluate
from bot.policy.loader import bundled

SCHOOL = load_school_config(EXAMPLE_CONFIG)
#: Monday 23 November 2026, 08:00 in London (GMT).
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

BASE: dict[str, Any] = {
    "organiser": {"name": "Tara Teacher", "email": "tara.teacher@example.org"},
    "type": "group",
    "reason": "lesson",
    "start": "2026-11-25T10:00:00+00:00",  # Wednesday, 10:00 GMT
    "duration_minutes": 45,
    "pupils": [
        {
            "name": "Pip Example",
            "parent_email": "parent.pip@example.com",
            "school_email": "pip@pupils.example.org",
            "consent": "signed",
        },
        {
            "name": "Quinn Example",
            "parent_email": "parent.quinn@example.com",
            "school_email": "quinn@pupils.example.org",
            "consent": "signed",
        },
    ],
    "second_adult": None,
    "recording": None,
    "chat": False,
}


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def decide(profile_id: str, booking: dict[str, Any], now: datetime = NOW) -> Decision:
    return evaluate(bundled(profile_id), SCHOOL.policy_facts(), Booking.model_validate(booking), now)
