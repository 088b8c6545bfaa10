"""The concern workflow: every state change of a concern and the side effects it owes.

Stored first, announced second: a concern is written to the store before anything is posted, and
the safeguarding channel sees a reference, category and urgency, never the narrative or the pupil.
Detail opens only for the DSL, and every view and every refusal is audited.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Callable

from bot import texts
from bot.chat import SAFEGUARDING_CHANNEL, Actor
from bot.concerns import cards
from bot.concerns.model import Concern
from bot.delivery import post_or_none, update_quietly
from bot.errors import NotPermitted

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


async def raise_concern(actor: Actor, draft: Callable[[str], Concern], services: Services) -> Concern:
    """Store the concern under a fresh reference, audit it, and announce it (retried if the channel refuses)."""
    stored = await services.concerns.add(draft)
    await services.audit.record(at=stored.raised_at, who=actor.key, action="concern.raised", record=stored.ref, detail=f"urgent={stored.immediate_risk}")
    log.info("concern raised ref=%s by=%s urgent=%s", stored.ref, actor.key, stored.immediate_risk)
    if not await post_alert(stored.ref, services):
        services.tasks.spawn(retry_alert(stored.ref, services), name=f"alert-{stored.ref}")
    concern, _ = await services.concerns.get(stored.ref)
    return concern


async def post_alert(ref: str, services: Services) -> bool:
    """Post the channel alert once; True when it is (or already was) posted."""
    concern, _ = await services.concerns.get(ref)
    if concern.alert_posted:
        return True
    posted = await post_or_none(services.messenger, SAFEGUARDING_CHANNEL, cards.alert_card(concern, services.timezone))
    if posted is None:
        log.warning("concern alert not posted ref=%s", ref)
        return False

    def keep(c: Concern) -> None:
        c.alert_posted = True
        c.alert_card = posted

    await services.concerns.update(ref, keep)
    return True


async def retry_alert(ref: str, services: Services) -> None:
    for delay in services.meeting_retry_delays:
        await asyncio.sleep(delay)
        if await post_alert(ref, services):
            return
    log.error("concern alert still not posted ref=%s; it will be retried at the next start", ref)


async def resume(services: Services) -> None:
    """After a restart: post every alert that was stored but never announced."""
    for c in await services.concerns.unposted():
        services.tasks.spawn(retry_alert(c.ref, services), name=f"alert-{c.ref}")


async def dsl_only(actor: Actor, ref: str, action: str, services: Services) -> Concern:
    """The concern, for a DSL; anyone else is refused, and the refusal is audited."""
    concern, _ = await services.concerns.get(ref)  # NotFound for a bad reference
    if not actor.has("dsl"):
        await services.audit.record(at=services.clock.now(), who=actor.key, action=f"{action}.refused", record=concern.ref, detail="not a DSL")
        log.warning("concern access refused ref=%s actor=%s action=%s", concern.ref, actor.key, action)
        refused = NotPermitted(texts.CONCERN_NOT_DSL)
        refused.audited = True
        raise refused
    return concern


async def acknowledge(actor: Actor, ref: str, services: Services) -> Concern:
    concern = await dsl_only(actor, ref, "concern.acknowledge", services)
    now = services.clock.now()

    def ack(c: Concern) -> None:
        if c.acknowledged_at is None:
            c.acknowledged_at, c.acknowledged_by, c.acknowledged_by_name, c.open = now, actor.key, actor.name, False

    concern = await services.concerns.update(concern.ref, ack)
    await services.audit.record(at=now, who=actor.key, action="concern.acknowledged", record=concern.ref)
    if concern.alert_card:
        await update_quietly(services.messenger, concern.alert_card, cards.alert_card(concern, services.timezone), record=concern.ref)
    return concern


async def open_detail(actor: Actor, ref: str, services: Services) -> Concern:
    """The full record for a DSL's personal chat; the view is audited."""
    concern = await dsl_only(actor, ref, "concern.open", services)
    await services.audit.record(at=services.clock.now(), who=actor.key, action="concern.viewed", record=concern.ref, detail="sent to personal chat")
    return concern


async def sweep(services: Services) -> None:
    """An alert nobody acknowledged is raised again in the safeguarding channel (reference only)."""
    now = services.clock.now()
    rules = services.school.concerns
    for c in await services.concerns.unacknowledged():
        if c.acknowledged_at is not None or not c.alert_posted or c.escalated_at is not None:
            continue
        minutes = rules.escalate_urgent_after_minutes if c.immediate_risk else rules.escalate_after_minutes
        if now - c.raised_at < timedelta(minutes=minutes):
            continue
        card = cards.alert_card(c, services.timezone, reminder=texts.CONCERN_NOT_ACKNOWLEDGED.format(minutes=minutes))
        if await post_or_none(services.messenger, SAFEGUARDING_CHANNEL, card) is None:
            continue

        def mark(x: Concern) -> None:
            x.escalated_at = now

        await services.concerns.update(c.ref, mark)
        await services.audit.record(at=now, who="chaperone", action="concern.escalated", record=c.ref, detail=f"after={minutes}min")
        log.warning("concern not acknowledged, raised again ref=%s", c.ref)
