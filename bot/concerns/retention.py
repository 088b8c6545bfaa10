"""Retention: register entries and concerns past their date are deleted once a day, except under legal hold.

How long (documented in the README, "Retention"):
- a register entry (a closed session) is kept for the profile's ``register_years`` after the session;
- a concern about a child is kept for the longer of the profile's ``concern_years`` after it was raised
  and the statutory rule for a child protection file: until the child's 25th birthday (IRMS Information
  Management Toolkit for Schools, following KCSIE). With no date of birth in the consent registry the
  25th birthday is unknown, so the concern is kept 25 years from the day it was raised (always later
  than the child's 25th birthday);
- a concern about an adult (an allegation) is kept for the longer of ``concern_years`` and 10 years
  (KCSIE part four: until normal pension age or 10 years, whichever is longer; pension age is not
  known to Chaperone, so a school that needs longer puts the concern on legal hold);
- anything open (an unacknowledged concern, a session not yet closed) is never deleted.
Every deletion is audited by reference only; a record on legal hold is kept and the skip audited.
Two instances run the daily job once: the day is claimed on a marker record with its etag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from bot.audit import Audit
from bot.concerns.case import Case
from bot.concerns.model import Concern
from bot.concerns.repo import TABLE as CONCERNS
from bot.concerns.repo import Concerns
from bot.consent import ConsentRegistry
from bot.errors import Conflict, NotFound
from bot.policy.model import Retention
from bot.sessions.repo import Sessions
from bot.store.base import Store
from bot.texts import concerns as concern_texts

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
HOLDS = "holds"
JOBS = "jobs"
MARKER = "retention"
SESSIONS = "sessions"
CHILD_FILE_UNTIL_AGE = 25
ALLEGATION_YEARS = 10


@dataclass(frozen=True)
class Due:
    table: Literal["sessions", "concerns"]
    ref: str
    keep_until: date
    held: bool


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


async def concern_keep_until(c: Concern, rules: Retention, registry: ConsentRegistry) -> date:
    raised = c.raised_at.date()
    configured = add_years(raised, rules.concern_years)
    if c.about != "child":
        return max(configured, add_years(raised, ALLEGATION_YEARS))
    statutory = add_years(raised, CHILD_FILE_UNTIL_AGE)  # no date of birth: the latest a 25th birthday can be
    births = []
    for key in c.pupil_keys:
        pupil = await registry.by_key(key)
        births.append(pupil.date_of_birth if pupil else None)
    if births and all(births) and not c.unlinked:
        statutory = max(add_years(b, CHILD_FILE_UNTIL_AGE) for b in births if b)
    return max(configured, statutory)


async def holds(store: Store) -> set[str]:
    return {r.key for r in await store.query(HOLDS)}


async def plan(store: Store, rules: Retention, today: date) -> list[Due]:
    """Everything past its date, oldest first; ``held`` marks what a legal hold keeps."""
    held = await holds(store)
    registry = ConsentRegistry(store)
    due: list[Due] = []
    for s in await Sessions(store).all():
        if s.open:
            continue
        until = add_years(
            (s.closure.actual_end if s.closure and s.closure.actual_end else s.booking.start).date(),
            rules.register_years,
        )
        if until <= today:
            due.append(Due("sessions", s.ref, until, s.ref in held))
    for c in await Concerns(store).all():
        if c.acknowledged_at is None:
            continue
        until = await concern_keep_until(c, rules, registry)
        if until <= today:
            due.append(Due("concerns", c.ref, until, c.ref in held))
    return sorted(due, key=lambda d: (d.keep_until, d.ref))


async def run(store: Store, rules: Retention, now: datetime, *, who: str = "chaperone") -> list[Due]:
    """Delete what is due and not held; audit each deletion (and each hold that kept a record) by reference."""
    audit = Audit(store)
    done = []
    for d in await plan(store, rules, now.date()):
        if d.held:
            await audit.record(
                at=now,
                who=who,
                action="retention.kept_on_hold",
                record=d.ref,
                detail=f"table={d.table} due={d.keep_until.isoformat()}",
            )
            continue
        if d.table == "concerns":
            entries = await Case(store).delete_all(d.ref)
            await store.delete(CONCERNS, d.ref)
            detail = f"table=concerns case_entries={entries} kept_until={d.keep_until.isoformat()}"
        else:
            await store.delete(SESSIONS, d.ref)
            detail = f"table=sessions kept_until={d.keep_until.isoformat()}"
        await audit.record(at=now, who=who, action="retention.deleted", record=d.ref, detail=detail)
        log.info("retention deleted ref=%s %s", d.ref, detail)
        done.append(d)
    return done


async def claim_day(store: Store, today: date) -> bool:
    """True for exactly one caller per day, across instances (insert, or replace on the marker's etag)."""
    marker = await store.get(JOBS, MARKER)
    try:
        if marker is None:
            await store.insert(JOBS, MARKER, {"day": today.isoformat()})
        elif marker.doc.get("day") == today.isoformat():
            return False
        else:
            await store.replace(JOBS, MARKER, {"day": today.isoformat()}, etag=marker.etag)
    except (Conflict, NotFound):
        return False
    return True


async def daily(services: Services) -> list[Due]:
    """From the sweep: once a day, whichever instance claims the day runs retention."""
    now = services.clock.now()
    if not await claim_day(services.store, now.date()):
        return []
    return await run(services.store, services.profile.retention, now)


async def hold(store: Store, ref: str, *, who: str, at: datetime, release: bool = False, reason: str = "") -> None:
    """Put a concern or session on legal hold (or release it); audited. NotFound for an unknown reference."""
    ref = ref.strip().upper()
    if await store.get(CONCERNS, ref) is None and await store.get(SESSIONS, ref) is None:
        raise NotFound(concern_texts.no_record(ref))
    if release:
        await store.delete(HOLDS, ref)
    else:
        await store.upsert(HOLDS, ref, {"ref": ref, "by": who, "at": at.isoformat()})
    await Audit(store).record(
        at=at,
        who=who,
        action="retention.hold_released" if release else "retention.hold",
        record=ref,
        detail=reason[:200],
    )
