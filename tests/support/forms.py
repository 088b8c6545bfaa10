"""What the fictional users type: the consent file, and filled-in booking, end and concern forms."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CSV = (
    "pupil,parent_name,parent_email,pupil_school_email,consent,date\n"
    "Pip Example,Pat Example,parent.pip@example.com,pip@pupils.example.org,signed,2026-09-01\n"
    "Quinn Example,Quill Example,parent.quinn@example.com,quinn@pupils.example.org,signed,2026-09-02\n"
    "Robin Example,Rae Example,parent.robin@example.com,,implied,2026-09-03\n"
)

FORM = {
    "title": "Reading group",
    "type": "group",
    "reason": "lesson",
    "date": "2026-11-25",
    "time": "10:00",
    "duration": "45",
    "pupils": "Pip Example,Quinn Example",
    "others": "",
}

END = {
    "outcome": "completed",
    "early_reason": "",
    "actual_start": "10:02",
    "actual_end": "10:44",
    "present_0": "true",
    "parent_start_0": "true",
    "parent_end_0": "true",
    "present_1": "false",
    "parent_start_1": "false",
    "parent_end_1": "false",
    "second_throughout": "true",
    "note": "Went well.",
}

CONCERN = {
    "pupil": "Pip Example",
    "pupil_other": "",
    "session": "",
    "category": "Disclosure",
    "what": "Pip said something worrying about home.",
    "child_words": "I don't want to go home tonight",
    "when_date": "2026-11-25",
    "when_time": "10:30",
    "where": "In the online session",
    "action_taken": "Ended the session",
    "session_ended": "true",
    "immediate_risk": "false",
}


def school_day(days_ahead: int = 2, *, today: date | None = None) -> str:
    """The first Monday-to-Friday date at least ``days_ahead`` days after today in the example
    school's zone: for what books on the real clock (bot processes, benches), where FORM's fixed
    date would one day be past or fall on a weekend."""
    day = (today or datetime.now(ZoneInfo("Europe/London")).date()) + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()
