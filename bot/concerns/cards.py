"""Cards for concerns: the form, the teacher's receipt, the channel alert (no narrative, no pupil) and the DSL's detail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.render import render
from bot.concerns.model import Concern

Card = dict[str, Any]
FORM_FIELDS = ("pupil", "pupil_other", "session", "category", "what", "child_words", "when_date", "when_time", "where", "action_taken", "session_ended", "immediate_risk")


def form_card(*, categories: tuple[str, ...], pupils: list[str], sessions: list[dict[str, str]], tz: str, values: dict[str, Any] | None = None, notes: str = "", token: str | None = None) -> Card:
    """The concern form; ``token`` (new for each form) makes its submission idempotent."""
    vals: dict[str, Any] = {k: "" for k in FORM_FIELDS}
    vals.update({"session_ended": "false", "immediate_risk": "false"})
    vals.update({k: v for k, v in (values or {}).items() if k in FORM_FIELDS and v is not None})
    return render(
        "concern_form",
        {"emergency": texts.EMERGENCY, "notes": notes, "pupils": pupils, "sessions": sessions, "categories": list(categories), "timezone": tz, "values": vals,
         "token": token or uuid.uuid4().hex},
    )


def _local(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def recorded_card(concern: Concern) -> Card:
    return render(
        "concern_recorded",
        {"ref": concern.ref, "immediate_risk": concern.immediate_risk, "emergency": texts.EMERGENCY, "alert_text": texts.CONCERN_ALERTED if concern.alert_posted else texts.CONCERN_ALERT_PENDING},
    )


def _urgency(c: Concern) -> tuple[str, str]:
    return (texts.URGENT, "Attention") if c.immediate_risk else (texts.NOT_URGENT, "Default")


def alert_card(c: Concern, tz: str, *, reminder: str = "") -> Card:
    """What the safeguarding channel sees: reference, category, urgency, who raised it and when. Never the narrative or the pupil."""
    urgency, color = _urgency(c)
    acknowledged = texts.CONCERN_ACKED.format(name=c.acknowledged_by_name, time=_local(c.acknowledged_at, tz)) if c.acknowledged_at else ""
    return render(
        "concern_alert",
        {
            "ref": c.ref, "urgency": urgency, "urgency_color": color, "acknowledged": acknowledged, "reminder": reminder,
            "facts": [
                {"title": "Category", "value": c.category},
                {"title": "Raised by", "value": c.raised_by_name},
                {"title": "Raised at", "value": _local(c.raised_at, tz)},
                {"title": "Session", "value": c.session_ref or "–"},
            ],
        },
    )


def detail_card(c: Concern, tz: str) -> Card:
    urgency, color = _urgency(c)
    return render(
        "concern_detail",
        {
            "ref": c.ref, "urgency": urgency, "urgency_color": color, "what": c.what, "child_words": c.child_words, "action_taken": c.action_taken,
            "facts": [
                {"title": "Pupil", "value": c.pupil},
                {"title": "Category", "value": c.category},
                {"title": "When", "value": _local(c.when, tz)},
                {"title": "Where", "value": c.where or "–"},
                {"title": "Session", "value": c.session_ref or "–"},
                {"title": "Session ended", "value": "yes" if c.session_ended else "no"},
                {"title": "Raised by", "value": f"{c.raised_by_name} ({c.raised_by_email or 'no email'})"},
                {"title": "Raised at", "value": _local(c.raised_at, tz)},
                {"title": "Acknowledged", "value": f"{c.acknowledged_by_name} at {_local(c.acknowledged_at, tz)}" if c.acknowledged_at else "not yet"},
            ],
        },
    )
