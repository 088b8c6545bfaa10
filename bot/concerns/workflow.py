"""The concern workflow: every state change of a concern and the side effects it owes (outbox jobs, bot/outbox.py).

Stored first, announced second: a concern is written to the store before anything is posted, and
the safeguarding channel sees a reference, category and urgency, never the narrative or the pupil.
Detail opens only for the DSL, and every view and every refusal is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import jobs, roles, texts
from bot.chat import SAFEGUARDING_CHANNEL, SLT_CHANNEL, Actor, CardRef, user_key
from bot.concerns import cards
from bot.concerns.case import Case, CaseEntry
from bot.concerns.model import Concern, Notice
from bot.delivery import update_quietly
from bot.errors import ChaperoneError, NotPermitted
from bot.jobs import Apply, Job, Kind
from bot.policy.concerns import concern_route
from bot.render import render
from bot.roles import Person
from bot.texts import concerns as concern_texts

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
TABLE = "concerns"


async def raise_concern(actor: Actor, draft: Callable[[str], Concern], services: Services, *, key: str) -> Concern:
    """Store the concern once (``key``: the form's idempotency key) with its route and everything it
    owes: the personal messages to the people the route names, and the channel alert and re-raise
    where the route allows the channel. Audit it, then run those jobs at once (the receipt says who
    was reached); the outbox repeats them for anyone not reached and, for immediate risk, every few
    minutes until someone acknowledges."""

    def make(ref: str) -> Concern:
        c = routed(draft(ref), services)
        c.origin = key
        owe_open(c, services, c.raised_at)
        return c

    stored, created = await services.concerns.add_once(key, make)
    if created:
        await services.audit.record(
            at=stored.raised_at,
            who=actor.key,
            action="concern.raised",
            record=stored.ref,
            detail=f"urgent={stored.immediate_risk} about={stored.about} route={stored.rule_id}",
        )
        log.info(
            "concern raised ref=%s by=%s urgent=%s route=%s",
            stored.ref,
            actor.key,
            stored.immediate_risk,
            stored.rule_id,
        )
    if stored.pending:
        await services.outbox.run_record(services, TABLE, stored.ref)
    concern, _ = await services.concerns.get(stored.ref)
    return concern


def kick(concern: Concern, services: Services) -> None:
    if concern.pending:
        services.outbox.kick(services, TABLE, concern.ref)


def routed(concern: Concern, services: Services) -> Concern:
    """The concern with the route its profile gives it (who is told, whether the channel may be alerted)."""
    route = concern_route(
        services.profile,
        about_adult=concern.about != "child",
        names_head=concern.about == "head",
        names_dsl=concern.about == "dsl",
    )
    return concern.model_copy(
        update={
            "tell": list(route.tell),
            "to_channel": route.channel,
            "rule_id": route.rule,
            "route_sentence": route.sentence,
            "guidance": list(route.guidance),
        }
    )


async def recipients(concern: Concern, services: Services) -> list[Person]:
    """Everyone to tell personally: holders of the route's roles, never someone the concern is about."""
    excluded: set[str] = set()
    if concern.about == "dsl":
        excluded = {p.aad_id.casefold() for role in ("dsl", "dsl_deputy") for p in await roles.holders(role, services)}
    if concern.about == "head":
        excluded = {p.aad_id.casefold() for p in await roles.holders("head", services)}
    people: dict[str, Person] = {}
    for role in concern.tell:
        for p in await roles.holders(role, services):
            if p.aad_id.casefold() not in excluded:
                people.setdefault(p.aad_id.casefold(), p)
    return list(people.values())


async def announce(concern: Concern, services: Services) -> CardRef:
    """The channel alert, @mentioning the people told (Teams notifies a mention, not a channel post); raises when Teams refuses."""
    card = cards.alert_card(concern, services.timezone)
    mentions = tuple(p.mention for p in await recipients(concern, services) if p.user_id)
    if not mentions:
        return await services.messenger.post(SAFEGUARDING_CHANNEL, card)
    return await services.messenger.post_mentioning(SAFEGUARDING_CHANNEL, card, mentions)


#: Someone the route names but not reached yet (not seen by the bot yet, no chat learnt, Teams refused)
#: is looked for again after a minute, then at doubling intervals up to an hour, until someone acknowledges.
RETRY_UNREACHED = timedelta(minutes=1)
RETRY_UNREACHED_CAP = timedelta(hours=1)


async def notify(concern: Concern, job: Job, services: Services) -> Apply | None:
    """A personal message (reference, category, urgency, who raised it; never the narrative or the
    pupil) to each person the route names, until someone acknowledges: anyone not reached is tried
    again a minute later, and an immediate-risk concern is sent to everyone again every few minutes.
    Audited by count, never by name."""
    if concern.acknowledged_at is not None:
        return None
    reminder = int(job.args.get("reminder") or 0)
    missing_only = bool(job.args.get("missing_only"))
    now = services.clock.now()
    card = cards.notice_card(concern, services.timezone, reminder=reminder)
    people = await recipients(concern, services)
    reached = {n.aad_id.casefold() for n in concern.notices}
    sent: list[Notice] = []
    for person in people:
        if missing_only and person.aad_id.casefold() in reached:
            continue
        try:
            posted = await services.messenger.post_personal(person.aad_id, card, contact=person.contact)
        except ChaperoneError as exc:
            log.warning(
                "personal notice not sent ref=%s to=%s error=%s", concern.ref, person.aad_id, type(exc).__name__
            )
            continue
        sent.append(Notice(aad_id=person.aad_id, at=now, card=posted))
    if sent or not missing_only:  # a retry that reached nobody again is logged, not audited every minute
        await services.audit.record(
            at=now,
            who="chaperone",
            action="concern.notified",
            record=concern.ref,
            detail=f"roles={'/'.join(concern.tell)} reached={len(sent)} reminder={reminder}",
        )
    every = timedelta(minutes=services.school.concerns.repeat_urgent_every_minutes)

    def keep(c: Concern) -> None:
        c.notices = [*c.notices, *sent]
        if c.acknowledged_at is not None:
            return
        # anyone the route names may become reachable later (a listed email seen for the first time,
        # a chat learnt, Teams answering again): look again, less often as time goes by
        retry = int(job.args.get("retry") or 0) if missing_only else 0
        wait = min(RETRY_UNREACHED * 2**retry, RETRY_UNREACHED_CAP)
        c.owe("notify", due=now + wait, args={"missing_only": True, "retry": retry + 1 if missing_only else 0})
        if c.immediate_risk and not missing_only:
            c.owe("notify", due=now + every, args={"reminder": reminder + 1})

    return keep


def may_handle(actor: Actor, concern: Concern) -> bool:
    """Holds a role the concern was routed to, and is not someone it is about."""
    if not set(concern.tell) & actor.roles:
        return False
    if concern.about == "dsl" and actor.roles & {"dsl", "dsl_deputy"}:
        return False
    return not (concern.about == "head" and actor.has("head"))


async def post_alert(concern: Concern, job: Job, services: Services) -> Apply | None:
    """Post the channel alert once (a job: retried until it is posted); never for a concern about an adult."""
    if concern.alert_card is not None or not concern.to_channel:
        return None
    posted = await announce(concern, services)

    def keep(c: Concern) -> None:
        c.alert_posted = True
        c.alert_card = c.alert_card or posted
        if c.acknowledged_at is not None:  # acknowledged while the alert was on its way
            c.owe("refresh_alert", due=services.clock.now())

    return keep


async def dsl_only(actor: Actor, ref: str, action: str, services: Services) -> Concern:
    """The concern, for the people it was routed to (the DSL and deputies, or the head or chair); anyone
    else is refused after the role groups are read again once, and the refusal is audited."""
    concern, _ = await services.concerns.get(ref)  # NotFound for a bad reference
    if may_handle(actor, concern):
        return concern
    actor = await roles.resolve(actor, services, fresh=True) if not roles.no_role_reason(actor, services) else actor
    if may_handle(actor, concern):
        return concern
    why = roles.no_role_reason(actor, services) or (
        "about them" if set(concern.tell) & actor.roles else f"needs {'/'.join(concern.tell)}"
    )
    await services.audit.record(
        at=services.clock.now(), who=actor.key, action=f"{action}.refused", record=concern.ref, detail=why
    )
    log.warning("concern access refused ref=%s actor=%s action=%s", concern.ref, actor.key, action)
    raise roles.audited(NotPermitted(texts.CONCERN_NOT_DSL if "dsl" in concern.tell else texts.CONCERN_NOT_YOURS))


async def add_entry(actor: Actor, entry: CaseEntry, services: Services) -> CaseEntry:
    """Append one entry to the case (never a change to the concern or an earlier entry); audited."""
    concern = await dsl_only(actor, entry.ref, f"case.{entry.kind}", services)
    added = await Case(services.store).add(entry)
    await services.audit.record(
        at=added.at,
        who=actor.key,
        action=f"case.{added.kind}",
        record=added.ref,
        detail=f"entry={added.seq} {roles.audit_source(actor, *concern.tell)}".strip(),
    )
    return added


async def acknowledge(actor: Actor, ref: str, services: Services) -> Concern:
    """The first acknowledgement is recorded with what it owes, in one write: its case entry, the
    channel alert and every personal notice shown as acknowledged. Acknowledging again (a retry,
    a second DSL) changes nothing."""
    concern = await dsl_only(actor, ref, "concern.acknowledge", services)
    now = services.clock.now()
    first = False

    def ack(c: Concern) -> None:
        nonlocal first
        first = c.acknowledged_at is None
        if first:
            c.acknowledged_at, c.acknowledged_by, c.acknowledged_by_name, c.open = now, actor.key, actor.name, False
            c.owe("case_acknowledged", due=now)
            c.owe("refresh_alert", due=now)
            c.owe("refresh_notices", due=now)

    concern = await services.concerns.update(concern.ref, ack)
    if first:
        await services.audit.record(
            at=now,
            who=actor.key,
            action="concern.acknowledged",
            record=concern.ref,
            detail=roles.audit_source(actor, *concern.tell),
        )
    kick(concern, services)
    return concern


async def case_acknowledged(concern: Concern, job: Job, services: Services) -> Apply | None:
    """The acknowledgement's entry in the concern's case (once: a rerun finds it there)."""
    if concern.acknowledged_at is None or concern.acknowledged_by is None:
        return None
    if not any(e.kind == "acknowledged" for e in await Case(services.store).entries(concern.ref)):
        await Case(services.store).add(
            CaseEntry(
                ref=concern.ref,
                kind="acknowledged",
                at=concern.acknowledged_at,
                by=concern.acknowledged_by,
                by_name=concern.acknowledged_by_name or "",
            )
        )
    return None


async def refresh_notices(concern: Concern, job: Job, services: Services) -> Apply | None:
    """Make every personal notice of the concern show its current state (acknowledged)."""
    for notice in concern.notices:
        if notice.card:
            await update_quietly(
                services.messenger, notice.card, cards.notice_card(concern, services.timezone), record=concern.ref
            )
    return None


async def open_detail(actor: Actor, ref: str, services: Services) -> Concern:
    """The full record for a DSL's personal chat; the view is audited."""
    concern = await dsl_only(actor, ref, "concern.open", services)
    await services.audit.record(
        at=services.clock.now(),
        who=actor.key,
        action="concern.viewed",
        record=concern.ref,
        detail=concern_texts.viewed_in(roles.audit_source(actor, *concern.tell)),
    )
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
        await services.audit.record(
            at=now, who="chaperone", action="concern.escalated", record=concern.ref, detail=f"after={minutes}min"
        )
    await services.messenger.post(SAFEGUARDING_CHANNEL, card)
    log.warning("concern not acknowledged, raised again ref=%s", concern.ref)

    def mark(c: Concern) -> None:
        c.escalated_at = c.escalated_at or now

    return mark


async def notice(concern: Concern, job: Job, services: Services) -> Apply | None:
    to = str(job.args["to"])
    await services.messenger.post(
        to,
        render(
            "notice",
            {
                "title": str(job.args["title"]),
                "lines": [str(job.args["text"])],
                "facts": [],
                "audience": "private" if to.startswith("user:") else "shared",
            },
        ),
    )
    return None


def stuck(concern: Concern, job: Job, services: Services, now: datetime) -> None:
    """The alert keeps failing: SLT and the person who raised it are told (never silence)."""
    if job.kind != "post_alert":
        return
    text = texts.CONCERN_UNDELIVERED.format(ref=concern.ref)
    concern.owe("notice", due=now, args={"to": SLT_CHANNEL, "title": texts.CONCERN_UNDELIVERED_TITLE, "text": text})
    concern.owe(
        "notice",
        due=now,
        args={"to": user_key(concern.raised_by), "title": texts.CONCERN_UNDELIVERED_TITLE, "text": text},
    )


def _repo(services: Services) -> Any:
    return services.concerns


def owe_open(c: Concern, services: Services, now: datetime) -> None:
    """What an unacknowledged concern owes from where it stands: the personal messages, and where
    its route allows the channel, the alert and the re-raise. Written with the concern, or at
    start-up for a concern stored before the outbox."""
    rules = services.school.concerns
    if not c.notices:
        c.owe("notify", due=now)
    if not c.to_channel:
        return
    if not c.alert_posted:
        c.owe("post_alert", due=now)
    if c.escalated_at is None:
        minutes = rules.escalate_urgent_after_minutes if c.immediate_risk else rules.escalate_after_minutes
        c.owe("reraise", due=c.raised_at + timedelta(minutes=minutes), args={"minutes": minutes})


async def adopt(services: Services) -> int:
    """Unacknowledged concerns stored before the outbox existed owe what a new concern owes from where they stand."""
    return await jobs.adopt(
        services.concerns,
        await services.concerns.unacknowledged(),
        lambda x: owe_open(x, services, services.clock.now()),
    )


JOB_KIND = Kind(
    table=TABLE,
    repo=_repo,
    handlers={
        "notify": notify,
        "post_alert": post_alert,
        "case_acknowledged": case_acknowledged,
        "refresh_notices": refresh_notices,
        "refresh_alert": refresh_alert,
        "reraise": reraise,
        "notice": notice,
    },
    stuck=stuck,
)
