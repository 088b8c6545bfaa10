"""/concern: the form, its submission parsed, and the DSL's Acknowledge and Open buttons (the workflow does the rest)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot import texts
from bot.chat import Actor, CardAction, Command, Reply, action_key
from bot.commands.router import Router
from bot.concerns import cards, workflow
from bot.concerns.model import Concern
from bot.errors import UsageError
from bot.sessions import cards as session_cards
from bot.sessions.model import Session
from bot.sessions.workflow import is_party

if TYPE_CHECKING:
    from bot.services import Services

RECENT_DAYS = 14  # the concern form offers the user's sessions from the last fortnight


async def _my_sessions(actor: Actor, services: Services) -> list[Session]:
    today = services.clock.now().date()
    recent = await services.sessions.on_days((today - timedelta(days=RECENT_DAYS)).isoformat(), (today + timedelta(days=1)).isoformat())
    candidates = {s.ref: s for s in [*recent, *await services.sessions.open_sessions()]}
    mine = [s for s in candidates.values() if is_party(actor, s)]
    mine.sort(key=lambda s: s.booking.start, reverse=True)
    return mine[:20]


async def concern_form(actor: Actor, services: Services) -> dict[str, Any]:
    mine = await _my_sessions(actor, services)
    pupils = sorted({p.name for s in mine for p in s.booking.pupils})
    sessions = [{"ref": s.ref, "title": f"{s.ref} ({session_cards.when(s, services.timezone)})"} for s in mine]
    now = services.clock.now().astimezone(ZoneInfo(services.timezone))
    return cards.form_card(
        categories=services.school.concerns.categories, pupils=pupils, sessions=sessions, tz=services.timezone,
        values={"when_date": f"{now:%Y-%m-%d}", "when_time": f"{now:%H:%M}"},
    )


def _flag(data: dict[str, Any], key: str) -> bool:
    return str(data.get(key, "false")).lower() == "true"


def parse_concern(actor: Actor, data: dict[str, Any], services: Services, ref: str) -> Concern:
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


def register(router: Router) -> None:
    @router.command("concern", summary=texts.HELP_SUMMARIES["concern"], roles=("staff",))
    async def concern(actor: Actor, cmd: Command, services: Services) -> Reply:
        form = await concern_form(actor, services)
        if actor.where.kind != "personal":
            return Reply(private=(form,))  # nothing about it in the channel or group chat
        return Reply(cards=(form,))

    @router.verb("concern.submit", roles=("staff",))
    async def submit(actor: Actor, action: CardAction, services: Services) -> Reply:
        parse_concern(actor, action.data, services, "C-CHECK")  # validate before anything is stored
        stored = await workflow.raise_concern(actor, lambda ref: parse_concern(actor, action.data, services, ref), services, key=action_key("concern", actor, action))
        card = cards.recorded_card(stored)
        return Reply(replace=card) if action.card_activity_id else Reply(cards=(card,))

    @router.verb("concern.ack")
    async def acknowledge(actor: Actor, action: CardAction, services: Services) -> Reply:
        concern = await workflow.acknowledge(actor, str(action.data.get("ref") or ""), services)
        return Reply(replace=cards.alert_card(concern, services.timezone))

    @router.verb("concern.open")
    async def open_detail(actor: Actor, action: CardAction, services: Services) -> Reply:
        concern = await workflow.open_detail(actor, str(action.data.get("ref") or ""), services)
        return Reply(replace=cards.alert_card(concern, services.timezone), private=(cards.detail_card(concern, services.timezone),))
