"""Cards for concerns: the form, the teacher's receipt, the channel alert (no narrative, no pupil) and the DSL's detail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.concerns.case import CaseEntry
from bot.concerns.chronology import Item
from bot.concerns.model import Concern
from bot.render import render
from bot.texts import concerns as concern_texts

Card = dict[str, Any]
FORM_FIELDS = (
    "pupil",
    "pupil_other",
    "about",
    "session",
    "category",
    "what",
    "child_words",
    "when_date",
    "when_time",
    "where",
    "action_taken",
    "session_ended",
    "immediate_risk",
)


def form_card(
    *,
    categories: tuple[str, ...],
    pupils: Sequence[str | tuple[str, str]],
    sessions: list[dict[str, str]],
    tz: str,
    values: dict[str, Any] | None = None,
    notes: str = "",
    token: str | None = None,
) -> Card:
    """``pupils``: (name, registry key) pairs, or bare names (their value is the name, resolved on submit);
    ``token`` (new for each form) makes its submission idempotent."""
    vals: dict[str, Any] = {k: "" for k in FORM_FIELDS}
    vals.update({"session_ended": "false", "immediate_risk": "false", "about": "child"})
    vals.update({k: v for k, v in (values or {}).items() if k in FORM_FIELDS and v is not None})
    choices = [{"title": p, "value": p} if isinstance(p, str) else {"title": p[0], "value": p[1]} for p in pupils]
    abouts = [{"title": t, "value": v} for v, t in texts.CONCERN_ABOUT_CHOICES.items()]
    return render(
        "concern_form",
        {
            "emergency": texts.EMERGENCY,
            "notes": notes,
            "pupils": choices,
            "abouts": abouts,
            "sessions": sessions,
            "categories": list(categories),
            "timezone": tz,
            "values": vals,
            "token": token or uuid.uuid4().hex,
        },
    )


def _told(c: Concern) -> str:
    return " or ".join(texts.ROLE_TITLES[r] for r in c.tell if r in texts.ROLE_TITLES and r != "dsl_deputy") or "DSL"


def notice_card(c: Concern, tz: str, *, reminder: int = 0) -> Card:
    """The personal message to each person told: reference, category, urgency, who raised it. Never the narrative or the pupil."""
    head = _summary(c, tz)
    return render(
        "concern_notice",
        {
            **head,
            "reminder": texts.CONCERN_NOTICE_REPEAT.format(n=reminder) if reminder and not head["acknowledged"] else "",
            "why": texts.ROUTE_WHY.format(sentence=c.route_sentence) if c.route_sentence else "",
            "guidance": list(c.guidance),
        },
    )


def chronology_card(pupil: str, key: str, items: list[Item], tz: str) -> Card:
    return render(
        "concern_chronology",
        {
            "pupil": pupil,
            "key": key,
            "empty": "" if items else texts.CHRONOLOGY_EMPTY,
            "items": [
                {
                    "when": _local(i.at, tz),
                    "kind": "Concern" if i.kind == "concern" else "Session",
                    "ref": i.ref,
                    "summary": i.summary,
                }
                for i in items
            ],
        },
    )


def _entry_line(e: CaseEntry) -> str:
    bits = [e.text]
    if e.kind == "referral":
        bits.append(concern_texts.referral(e.agency, e.agency_ref, e.on))
    if e.kind == "transferred":
        bits.append(concern_texts.transferred(e.system, e.on))
    if e.kind == "linked":
        bits.append(concern_texts.linked(e.pupil_key))
    return "; ".join(b for b in bits if b)


def _local(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def recorded_card(concern: Concern) -> Card:
    if concern.notices:
        alert = texts.CONCERN_TOLD_PERSONALLY.format(who=_told(concern))
    elif not concern.to_channel:
        alert = texts.CONCERN_NOBODY_TO_TELL.format(who=_told(concern))
    else:
        alert = texts.CONCERN_ALERTED if concern.alert_posted else texts.CONCERN_ALERT_PENDING
    return render(
        "concern_recorded",
        {
            "ref": concern.ref,
            "immediate_risk": concern.immediate_risk,
            "emergency": texts.EMERGENCY,
            "alert_text": alert,
        },
    )


def _urgency(c: Concern) -> tuple[str, str]:
    return (texts.URGENT, "attention") if c.immediate_risk else (texts.NOT_URGENT, "default")


def _summary(c: Concern, tz: str) -> dict[str, Any]:
    """What every short concern card shows: reference, urgency, whether acknowledged, and who raised it
    when (never the narrative or the pupil)."""
    urgency, color = _urgency(c)
    acknowledged = (
        texts.CONCERN_ACKED.format(name=c.acknowledged_by_name, time=_local(c.acknowledged_at, tz))
        if c.acknowledged_at
        else ""
    )
    return {
        "ref": c.ref,
        "urgency": urgency,
        "urgency_style": color,
        "acknowledged": acknowledged,
        "facts": [
            {"title": "Category", "value": c.category},
            {"title": "Raised by", "value": c.raised_by_name},
            {"title": "Raised at", "value": _local(c.raised_at, tz)},
        ],
    }


def alert_card(c: Concern, tz: str, *, reminder: str = "") -> Card:
    """What the safeguarding channel sees: reference, category, urgency, who raised it and when. Never the narrative or the pupil."""
    head = _summary(c, tz)
    head["facts"].append({"title": "Session", "value": c.session_ref or "–"})
    return render("concern_alert", {**head, "reminder": reminder})


def detail_card(
    c: Concern, tz: str, *, entries: Sequence[CaseEntry] = (), pupils: Sequence[tuple[str, str]] = ()
) -> Card:
    """The full record and its case, for a person it was routed to, in their personal chat only."""
    urgency, color = _urgency(c)
    return render(
        "concern_detail",
        {
            "ref": c.ref,
            "urgency": urgency,
            "urgency_style": color,
            "what": c.what,
            "child_words": c.child_words,
            "action_taken": c.action_taken,
            "guidance": list(c.guidance),
            "entries": [
                {
                    "number": e.seq,
                    "title": texts.CASE_KINDS[e.kind],
                    "line": _entry_line(e),
                    "by": e.by_name,
                    "at": _local(e.at, tz),
                }
                for e in entries
            ],
            "kinds": [
                {"title": t, "value": k}
                for k, t in texts.CASE_KINDS.items()
                if k != "acknowledged" and (k != "linked" or pupils)
            ],
            "agencies": list(texts.CASE_AGENCIES),
            "pupils": [{"title": f"{name} ({key})", "value": key} for name, key in pupils],
            "facts": [
                {"title": "Pupil", "value": c.pupil + (concern_texts.not_yet_linked(c.unlinked) if c.unlinked else "")},
                {"title": "About", "value": texts.CONCERN_ABOUT_CHOICES[c.about]},
                {"title": "Category", "value": c.category},
                {"title": "When", "value": _local(c.when, tz)},
                {"title": "Where", "value": c.where or "–"},
                {"title": "Session", "value": c.session_ref or "–"},
                {"title": "Session ended", "value": "yes" if c.session_ended else "no"},
                {"title": "Raised by", "value": f"{c.raised_by_name} ({c.raised_by_email or 'no email'})"},
                {"title": "Raised at", "value": _local(c.raised_at, tz)},
                {
                    "title": "Acknowledged",
                    "value": f"{c.acknowledged_by_name} at {_local(c.acknowledged_at, tz)}"
                    if c.acknowledged_at
                    else "not yet",
                },
            ],
        },
    )
