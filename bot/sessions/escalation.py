"""Unanswered second-adult requests escalate: a reminder to SLT, then the teacher is told the
session cannot go ahead. State lives in the store, so the timers survive a restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from bot import texts
from bot.errors import Conflict
from bot.sessions import flow, views
from bot.sessions.model import Session, State

log = logging.getLogger(__name__)
REMINDED = "reminded"


async def sweep(services: Any) -> None:
    """One pass: sessions waiting for a second adult, and concern alerts nobody has acknowledged."""
    await _concerns(services)
    now = services.clock.now()
    rules = services.school.second_adult
    for s in await services.sessions.open_sessions(State.AWAITING_SECOND_ADULT):
        if s.booking.start - now <= timedelta(minutes=rules.give_up_before_start_minutes):
            await _give_up(s.ref, services)
        elif now - s.created_at >= timedelta(minutes=rules.remind_after_minutes) and not any(e.what == REMINDED for e in s.history):
            await _remind(s, services)


async def _remind(s: Session, services: Any) -> None:
    card = views.request_card(s, services.timezone, headline=f"{texts.REMINDER_TITLE}. {s.organiser.name} is waiting.")
    posted = await flow.post_card(services, "channel:slt", card)

    def mark(x: Session) -> None:
        x.note(REMINDED, at=services.clock.now(), by=None)
        if posted and not x.request_card:
            x.request_card = posted

    await services.sessions.update(s.ref, mark)
    log.info("second-adult reminder sent ref=%s", s.ref)


async def _give_up(ref: str, services: Any) -> None:
    def cancel(x: Session) -> None:
        if x.state is not State.AWAITING_SECOND_ADULT:
            raise Conflict("moved on")
        x.meeting_error = texts.GAVE_UP.format(ref=x.ref)
        x.move(State.CANCELLED, at=services.clock.now(), by=None)

    try:
        s = await services.sessions.update(ref, cancel)
    except Conflict:
        return  # someone accepted at the last moment
    await services.audit.record(at=services.clock.now(), who="chaperone", action="session.cancelled", record=ref, detail="no second adult in time")
    await flow.refresh_cards(s, services)
    log.info("session cancelled: no second adult ref=%s", ref)


async def run_forever(services: Any, *, every: float = 60.0) -> None:
    while True:
        try:
            await sweep(services)
        except Exception:  # noqa: BLE001 - the sweeper must keep running
            log.exception("escalation sweep failed")
        await asyncio.sleep(every)


async def _concerns(services: Any) -> None:
    """An alert nobody acknowledged is raised again in the safeguarding channel (reference only)."""
    from bot.concern_views import alert_card
    from bot.concerns import Concern

    now = services.clock.now()
    rules = services.school.concerns
    for c in await services.concerns.unacknowledged():
        if c.acknowledged_at is not None or not c.alert_posted or c.escalated_at is not None:
            continue
        minutes = rules.escalate_urgent_after_minutes if c.immediate_risk else rules.escalate_after_minutes
        if now - c.raised_at < timedelta(minutes=minutes):
            continue
        card = alert_card(c, services.timezone, reminder=texts.CONCERN_NOT_ACKNOWLEDGED.format(minutes=minutes))
        posted = await flow.post_card(services, "channel:safeguarding", card)
        if posted is None:
            continue

        def mark(x: Concern) -> None:
            x.escalated_at = now

        await services.concerns.update(c.ref, mark)
        await services.audit.record(at=now, who="chaperone", action="concern.escalated", record=c.ref, detail=f"after={minutes}min")
        log.warning("concern not acknowledged, raised again ref=%s", c.ref)
