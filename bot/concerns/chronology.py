"""A pupil's chronology: every concern (raised for them or linked to them later) and every session, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot import texts
from bot.concerns.case import Case, CaseEntry
from bot.concerns.model import Concern
from bot.concerns.repo import Concerns
from bot.consent import ConsentRecord, key_of
from bot.sessions.model import Session
from bot.sessions.repo import Sessions
from bot.store.base import Store


@dataclass(frozen=True)
class Item:
    at: datetime
    kind: Literal["concern", "session"]
    ref: str
    summary: str


def _concern_summary(c: Concern, entries: list[CaseEntry]) -> str:
    parts = [c.category, texts.URGENT if c.immediate_risk else texts.NOT_URGENT]
    if c.about != "child":
        parts.append(texts.CONCERN_ABOUT_CHOICES[c.about])
    parts.append(f"acknowledged by {c.acknowledged_by_name}" if c.acknowledged_at else "not acknowledged")
    if entries:
        last = entries[-1]
        parts.append(
            f"{len(entries)} case entr{'y' if len(entries) == 1 else 'ies'}, latest: {texts.CASE_KINDS[last.kind]}"
        )
    if c.session_ref:
        parts.append(f"session {c.session_ref}")
    return "; ".join(parts)


def _session_summary(s: Session, pupil: ConsentRecord) -> str:
    parts = [
        s.booking.title or s.booking.reason.value,
        s.booking.type.value.replace("_", " "),
        s.state.value.replace("_", " "),
    ]
    if s.closure:
        parts.append(
            s.closure.outcome.replace("_", " ")
            + (f" ({s.closure.early_reason.replace('_', ' ')})" if s.closure.early_reason else "")
        )
        present = next((p.present for p in s.closure.pupils if key_of(p.name) == pupil.key), None)
        if present is not None:
            parts.append("present" if present else "absent")
    return "; ".join(parts)


async def concerns_of(pupil: ConsentRecord, store: Store) -> list[Concern]:
    """Concerns raised for the pupil, and those whose free-text pupil the DSL linked to them."""
    case = Case(store)
    linked = {e.ref for e in await case.linked() if e.pupil_key == pupil.pupil_key}
    return [c for c in await Concerns(store).all() if pupil.pupil_key in c.pupil_keys or c.ref in linked]


async def sessions_of(pupil: ConsentRecord, store: Store) -> list[Session]:
    return [s for s in await Sessions(store).all() if any(key_of(p.name) == pupil.key for p in s.booking.pupils)]


async def chronology(pupil: ConsentRecord, store: Store) -> list[Item]:
    case = Case(store)
    items = [
        Item(c.raised_at, "concern", c.ref, _concern_summary(c, await case.entries(c.ref)))
        for c in await concerns_of(pupil, store)
    ]
    items += [
        Item(s.booking.start, "session", s.ref, _session_summary(s, pupil)) for s in await sessions_of(pupil, store)
    ]
    return sorted(items, key=lambda i: (i.at, i.ref), reverse=True)
