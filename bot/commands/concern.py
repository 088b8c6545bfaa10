"""/concern: a structured safeguarding concern to the DSL; the channel sees a reference, never the narrative."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot import concern_views, texts
from bot.commands.router import Router
from bot.chat import Actor, CardAction, Command, CardRef, Reply
from bot.concerns import Concern
from bot.errors import ChaperoneError, NotFound, NotPermitted, UsageError
from bot.sessions import flow, views

log = logging.getLogger(__name__)
ALERT_KEY = "channel:safeguarding"
RECENT_DAYS = 14  # the concern form offers the user's sessions from the last fortnight


async def _my_sessions(actor: Actor, services: Any) -> list[Any]:
    today = services.clock.now().date()
    recent = await services.sessions.on_days((today - timedelta(days=RECENT_DAYS)).isoformat(), (today + timedelta(days=1)).isoformat())
    candidates = {s.ref: s for s in [*recent, *await services.sessions.open_sessions()]}
    mine = [s for s in candidates.values() if flow.is_party(actor, s)]
    mine.sort(key=lambda s: s.booking.start, reverse=True)
    return mine[:20]


async def concern_form(actor: Actor, services: Any) -> dict[str, Any]:
    mine = await _my_sessions(actor, services)
    pupils = sorted({p.name for s in mine for p in s.booking.pupils})
    sessions = [{"ref": s.ref, "title": f"{s.ref} ({views.when(s, services.timezone)})"} for s in mine]
    now = services.clock.now().astimezone(ZoneInfo(services.timezone))
    return concern_views.form_card(
        categories=services.school.concerns.categories, pupils=pupils, sessions=sessions, tz=services.timezone,
        values={"when_date": f"{now:%Y-%m-%d}", "when_time": f"{now:%H:%M}"},
    )


def _flag(data: dict[str, Any], key: str) -> bool:
    return str(data.get(key, "false")).lower() == "true"


def parse_concern(actor: Actor, data: dict[str, Any], services: Any, ref: str) -> Concern:
    pupil = str(data.get("pupil_other") or "").strip() or str(data.get("pupil") or "").strip()
    if not pupil:
        raise UsageError(texts.CONCERN_NEEDS_PUPIL, hint=texts.CONCERN_NOT_SENT_HINT)
    category = str(data.get("category") or "")
    if category not in services.school.concerns.categories:
        raise UsageError(texts.CONCERN_CHOOSE_CATEGORY, hint=texts.CONCERN_NOT_SENT_HINT)
    tz = ZoneInfo(services.timezone)
    try:
        when = datetime.combine(date.fromisoformat(str(data.get("when_date"))), time.fromisoformat(str(data.get("when_time"))), tzinfo=tz)
    except ValueError:
        raise UsageError(texts.CONCERN_BAD_WHEN, hint=texts.CONCERN_NOT_SENT_HINT) from None
    now = services.clock.now()
    try:
        return Concern(
            ref=ref, pupil=pupil, session_ref=str(data.get("session") or "") or None, category=category,
            what=str(data.get("what") or "").strip(), child_words=str(data.get("child_words") or "").strip(), when=when,
            where=str(data.get("where") or "").strip(), action_taken=str(data.get("action_taken") or "").strip(),
            session_ended=_flag(data, "session_ended"), immediate_risk=_flag(data, "immediate_risk"),
            raised_by=actor.key, raised_by_name=actor.name, raised_by_email=actor.email, raised_at=now, day=now.date().isoformat(),
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors()}))
        raise UsageError(texts.CONCERN_COMPLETE.format(fields=fields), hint=texts.CONCERN_NOT_SENT_HINT) from exc


async def post_alert(ref: str, services: Any) -> bool:
    """Post the channel alert once; True when it is (or already was) posted."""
    concern, _ = await services.concerns.get(ref)
    if concern.alert_posted:
        return True
    try:
        posted = await services.messenger.post(ALERT_KEY, concern_views.alert_card(concern, services.timezone))
    except ChaperoneError as exc:
        log.warning("concern alert not posted ref=%s error=%s", ref, type(exc).__name__)
        return False

    def keep(c: Concern) -> None:
        c.alert_posted = True
        c.alert_card = posted

    await services.concerns.update(ref, keep)
    return True


async def retry_alert(ref: str, services: Any) -> None:
    for delay in services.meeting_retry_delays:
        await asyncio.sleep(delay)
        if await post_alert(ref, services):
            return
    log.error("concern alert still not posted ref=%s; it will be retried at the next start", ref)


async def resume_alerts(services: Any) -> None:
    for c in await services.concerns.unposted():
        services.tasks.spawn(retry_alert(c.ref, services), name=f"alert-{c.ref}")


async def _dsl_only(actor: Actor, ref: str, action: str, services: Any) -> Concern:
    concern, _ = await services.concerns.get(ref)  # NotFound for a bad reference
    if not actor.has("dsl"):
        await services.audit.record(at=services.clock.now(), who=actor.key, action=f"{action}.refused", record=concern.ref, detail="not a DSL")
        log.warning("concern access refused ref=%s actor=%s action=%s", concern.ref, actor.key, action)
        raise NotPermitted(texts.CONCERN_NOT_DSL)
    return concern


def register(router: Router) -> None:
    @router.command("concern", summary=texts.HELP_SUMMARIES["concern"], roles=("staff",))
    async def concern(actor: Actor, cmd: Command, services: Any) -> Reply:
        form = await concern_form(actor, services)
        if actor.where.kind != "personal":
            return Reply(private=(form,))  # nothing about it in the channel or group chat
        return Reply(cards=(form,))

    @router.verb("concern.submit", roles=("staff",))
    async def submit(actor: Actor, action: CardAction, services: Any) -> Reply:
        parse_concern(actor, action.data, services, "C-CHECK")  # validate before anything is stored
        stored = await services.concerns.add(lambda ref: parse_concern(actor, action.data, services, ref))
        await services.audit.record(at=stored.raised_at, who=actor.key, action="concern.raised", record=stored.ref, detail=f"urgent={stored.immediate_risk}")
        log.info("concern raised ref=%s by=%s urgent=%s", stored.ref, actor.key, stored.immediate_risk)
        if not await post_alert(stored.ref, services):
            services.tasks.spawn(retry_alert(stored.ref, services), name=f"alert-{stored.ref}")
        stored, _ = await services.concerns.get(stored.ref)
        card = concern_views.recorded_card(stored)
        return Reply(replace=card) if action.card_activity_id else Reply(cards=(card,))

    @router.verb("concern.ack")
    async def acknowledge(actor: Actor, action: CardAction, services: Any) -> Reply:
        concern = await _dsl_only(actor, str(action.data.get("ref") or ""), "concern.acknowledge", services)
        now = services.clock.now()

        def ack(c: Concern) -> None:
            if c.acknowledged_at is None:
                c.acknowledged_at, c.acknowledged_by, c.acknowledged_by_name, c.open = now, actor.key, actor.name, False

        concern = await services.concerns.update(concern.ref, ack)
        await services.audit.record(at=now, who=actor.key, action="concern.acknowledged", record=concern.ref)
        card = concern_views.alert_card(concern, services.timezone)
        if concern.alert_card:
            try:
                await services.messenger.update(concern.alert_card, card)
            except (ChaperoneError, NotFound):
                log.warning("alert card update failed ref=%s", concern.ref)
        return Reply(replace=card)

    @router.verb("concern.open")
    async def open_detail(actor: Actor, action: CardAction, services: Any) -> Reply:
        concern = await _dsl_only(actor, str(action.data.get("ref") or ""), "concern.open", services)
        await services.audit.record(at=services.clock.now(), who=actor.key, action="concern.viewed", record=concern.ref, detail="sent to personal chat")
        return Reply(replace=concern_views.alert_card(concern, services.timezone), private=(concern_views.detail_card(concern, services.timezone),))
