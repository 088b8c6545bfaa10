"""The concern workflow: every state change of a concern and the side effects it owes.

Stored first, announced second: a concern is written to the store, with the alert and the re-raise
it owes (outbox jobs, bot/outbox.py), in one write before anything is posted; the safeguarding
channel sees a reference, category and urgency, never the narrative or the pupil.
Detail opens only for the DSL, and every view and every refusal is audited.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from bot import texts
from bot.chat import SAFEGUARDING_CHANNEL, SLT_CHANNEL, Actor, user_key
from bot.concerns import cards
from bot.concerns.model import Concern
from bot.errors import NotPermitted
from bot.jobs import Apply, Job, Kind
from bot.render import render

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
TABLE = "concerns"


async def raise_concern(actor: Actor, draft: Callable[[str], Concern], services: Services, *, key: str) -> Concern:
    """Store the concern once (``key``: the form's idempotency key) with its alert and re-raise owed,
    audit it, and try the alert at once, so the receipt can say whether the DSL was alerted (the
    outbox retries it until the channel takes it)."""
    rules = services.school.concerns

    def make(ref: str) -> Concern:
        c = draft(ref)
        c.origin = key
        minutes = rules.escalate_urgent_after_minutes if c.immediate_risk else rules.escalate_after_minutes
        c.owe("post_alert", due=c.raised_at)
        c.owe("reraise", due=c.raised_at + timedelta(minutes=minutes), args={"minutes": minutes})
        return c

    stored, created = await services.concerns.add_once(key, make)
    if created:
        await services.audit.record(at=stored.raised_at, who=actor.key, action="concern.raised", record=stored.ref, detail=f"urgent={stored.immediate_risk}")
        log.info("concern raised ref=%s by=%s urgent=%s", stored.ref, actor.key, stored.immediate_risk)
    if stored.pending:
        await services.outbox.run_record(services, TABLE, stored.ref)
        stored, _ = await services.concerns.get(stored.ref)
    return stored


def kick(concern: Concern, services: Services) -> None:
    if concern.pending:
        services.outbox.kick(services, TABLE, concern.ref)


async def post_alert(concern: Concern, job: Job, services: Services) -> Apply | None:
    """Post the channel alert once (a job: retried until it is posted)."""
    if concern.alert_card is not None:
        return None
    posted = await services.messenger.post(SAFEGUARDING_CHANNEL, cards.alert_card(concern, services.timezone))

    def keep(c: Concern) -> None:
        c.alert_posted = True
        c.alert_card = c.alert_card or posted
        if c.acknowledged_at is not None:  # acknowledged while the alert was on its way
            c.owe("refresh_alert", due=services.clock.now())

    return keep


async def dsl_only(actor: Actor, ref: str, action: str, services: Services) -> Concern:
    """The concern, for a DSL; anyone else is refused, and the refusal is audited."""
    concern, _ = await services.concerns.get(ref)  # NotFound for a bad reference
    if not actor.has("dsl"):
        await services.audit.record(at=services.clock.now(), who=actor.key, action=f"{action}.refused", record=concern.ref, detail="not a DSL")
        log.warning("concern access refused ref=%s actor=%s action=%s", concern.ref, actor.key, action)
        raise NotPermitted(texts.CONCERN_NOT_DSL)
    return concern


async def acknowledge(actor: Actor, ref: str, services: Services) -> Concern:
    concern = await dsl_only(actor, ref, "concern.acknowledge", services)
    now = services.clock.now()

    first = False

    def ack(c: Concern) -> None:
        nonlocal first
        first = c.acknowledged_at is None
        if first:  # acknowledging twice (a retry, a second DSL) changes nothing
            c.acknowledged_at, c.acknowledged_by, c.acknowledged_by_name, c.open = now, actor.key, actor.name, False
            c.owe("refresh_alert", due=now)

    concern = await services.concerns.update(concern.ref, ack)
    if first:
        await services.audit.record(at=now, who=actor.key, action="concern.acknowledged", record=concern.ref)
    kick(concern, services)
    return concern


async def open_detail(actor: Actor, ref: str, services: Services) -> Concern:
    """The full record for a DSL's personal chat; the view is audited."""
    concern = await dsl_only(actor, ref, "concern.open", services)
    await services.audit.record(at=services.clock.now(), who=actor.key, action="concern.viewed", record=concern.ref, detail="sent to personal chat")
    return concern


async def refresh_alert(concern: Concern, job: Job, services: Services) -> Apply | None:
    """Make the channel alert show the concern's current state (acknowledged or not)."""
    if concern.alert_card is not None:
        await services.messenger.update(concern.alert_card, cards.alert_card(concern, services.timezone))
    return None


async def reraise(concern: Concern, job: Job, services: Services) -> Apply | None:
    """An alert nobody acknowledged in time is raised again in the safeguarding channel, once (reference only)."""
    if concern.acknowledged_at is not None or concern.escalated_at is not None:
        return None
    minutes = int(job.args.get("minutes") or 0)
    card = cards.alert_card(concern, services.timezone, reminder=texts.CONCERN_NOT_ACKNOWLEDGED.format(minutes=minutes))
    now = services.clock.now()
    if job.attempts == 1:  # audited before the post: no store write between the post and "done"
        await services.audit.record(at=now, who="chaperone", action="concern.escalated", record=concern.ref, detail=f"after={minutes}min")
    await services.messenger.post(SAFEGUARDING_CHANNEL, card)
    log.warning("concern not acknowledged, raised again ref=%s", concern.ref)

    def mark(c: Concern) -> None:
        c.escalated_at = c.escalated_at or now

    return mark


async def notice(concern: Concern, job: Job, services: Services) -> Apply | None:
    await services.messenger.post(str(job.args["to"]), render("notice", {"title": str(job.args["title"]), "lines": [str(job.args["text"])], "facts": []}))
    return None


def stuck(concern: Concern, job: Job, services: Services, now: datetime) -> None:
    """The alert keeps failing: SLT and the person who raised it are told (never silence)."""
    if job.kind != "post_alert":
        return
    text = texts.CONCERN_UNDELIVERED.format(ref=concern.ref)
    concern.owe("notice", due=now, args={"to": SLT_CHANNEL, "title": texts.CONCERN_UNDELIVERED_TITLE, "text": text})
    concern.owe("notice", due=now, args={"to": user_key(concern.raised_by), "title": texts.CONCERN_UNDELIVERED_TITLE, "text": text})


def _repo(services: Services) -> Any:
    return services.concerns


async def adopt(services: Services) -> int:
    """Unacknowledged concerns stored before the outbox existed owe their alert and re-raise."""
    rules = services.school.concerns
    adopted = 0
    for c in await services.concerns.unacknowledged():
        if c.job_seq:
            continue

        def owe(x: Concern) -> None:
            if x.job_seq:
                return
            if not x.alert_posted:
                x.owe("post_alert", due=services.clock.now())
            if x.escalated_at is None:
                minutes = rules.escalate_urgent_after_minutes if x.immediate_risk else rules.escalate_after_minutes
                x.owe("reraise", due=x.raised_at + timedelta(minutes=minutes), args={"minutes": minutes})
            x.job_seq = max(x.job_seq, 1)

        await services.concerns.update(c.ref, owe)
        adopted += 1
    return adopted


JOB_KIND = Kind(table=TABLE, repo=_repo, handlers={"post_alert": post_alert, "refresh_alert": refresh_alert, "reraise": reraise, "notice": notice}, stuck=stuck)
