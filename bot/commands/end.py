"""/end: the end form, its submission parsed into a Closure, and the follow-up (the workflow closes the session)."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.chat import Actor, CardAction, Command, Reply, action_key
from bot.commands.router import Router
from bot.concerns import cards as concern_cards
from bot.errors import UsageError
from bot.sessions import cards, workflow
from bot.sessions.model import EARLY_REASONS, Closure, PupilAttendance, Session, State

if TYPE_CHECKING:
    from bot.services import Services


def _flag(data: dict[str, Any], key: str) -> bool:
    value = str(data.get(key, "")).lower()
    if value not in ("true", "false"):
        raise UsageError(texts.END_FORM_INCOMPLETE, hint=texts.END_FORM_INCOMPLETE_HINT)
    return value == "true"


def parse_closure(actor: Actor, s: Session, data: dict[str, Any], services: Services) -> Closure:
    outcome = str(data.get("outcome") or "")
    reason = str(data.get("early_reason") or "") or None
    if outcome == "did_not_take_place":  # records no attendance and no times
        return Closure(
            outcome="did_not_take_place",
            pupils=[],
            note=str(data.get("note") or "")[:2000],
            closed_by=actor.key,
            closed_at=services.clock.now(),
        )
    if outcome not in ("completed", "ended_early"):
        raise UsageError(texts.END_CHOOSE_OUTCOME)
    if outcome == "ended_early" and reason is None:
        raise UsageError(texts.END_EARLY_NEEDS_REASON)
    if reason is not None and reason not in EARLY_REASONS:
        raise UsageError(texts.END_CHOOSE_REASON)
    tz = ZoneInfo(services.timezone)
    day = s.booking.start.astimezone(tz).date()
    try:
        actual_start = datetime.combine(day, time.fromisoformat(str(data.get("actual_start"))), tzinfo=tz)
        actual_end = datetime.combine(day, time.fromisoformat(str(data.get("actual_end"))), tzinfo=tz)
    except ValueError:
        raise UsageError(texts.END_TIMES_FORMAT) from None
    if actual_end <= actual_start:
        raise UsageError(texts.END_TIMES)
    pupils = [
        PupilAttendance(
            name=p.name,
            present=_flag(data, f"present_{i}"),
            parent_at_start=_flag(data, f"parent_start_{i}"),
            parent_at_end=_flag(data, f"parent_end_{i}"),
        )
        for i, p in enumerate(s.booking.pupils)
    ]
    return Closure(
        outcome=outcome,
        early_reason=reason if outcome == "ended_early" else None,
        actual_start=actual_start,
        actual_end=actual_end,
        pupils=pupils,
        second_adult_throughout=_flag(data, "second_throughout") if s.second_adult else None,
        note=str(data.get("note") or "")[:2000],
        closed_by=actor.key,
        closed_at=services.clock.now(),
    )


def register(router: Router) -> None:
    @router.command("end", summary=texts.HELP_SUMMARIES["end"], usage="/end [S-XXXXXX]", roles=("staff",))
    async def end(actor: Actor, cmd: Command, services: Services) -> Reply:
        tz = services.timezone
        if cmd.args:
            s = await workflow.closable(actor, cmd.args[0], services)
            return Reply(cards=(cards.end_form(s, tz),))
        today = services.clock.now().astimezone(ZoneInfo(tz)).date()
        mine = [
            s
            for s in await services.sessions.open_sessions(State.SCHEDULED)
            if workflow.is_party(actor, s) and s.booking.start.astimezone(ZoneInfo(tz)).date() == today
        ]
        mine.sort(key=lambda s: s.booking.start)
        return Reply(cards=(cards.end_list_card(mine, tz),))

    @router.verb("end.open", roles=("staff",))
    async def open_form(actor: Actor, action: CardAction, services: Services) -> Reply:
        s = await workflow.closable(actor, str(action.data.get("ref") or ""), services)
        return Reply(cards=(cards.end_form(s, services.timezone),))

    @router.verb("end.submit", roles=("staff",))
    async def submit(actor: Actor, action: CardAction, services: Services) -> Reply:
        key = action_key("end", actor, action)
        s, _ = await services.sessions.get(str(action.data.get("ref") or ""))
        if s.has_applied(key) and s.closure is not None:  # the same form again (a retry): the same answer
            closure = s.closure
        else:
            s = await workflow.closable(actor, s.ref, services)
            closure = parse_closure(actor, s, action.data, services)
        s, notes = await workflow.end_session(actor, s.ref, closure, services, key=key)
        done = cards.notice_card(texts.END_DONE.format(ref=s.ref), *notes)
        if closure.early_reason in texts.CONCERN_REASONS:
            label = texts.EARLY_REASON_LABELS[closure.early_reason or ""]
            form = concern_cards.form_card(
                categories=services.school.concerns.categories,
                pupils=[p.name for p in s.booking.pupils],
                sessions=[{"ref": s.ref, "title": f"{s.ref} ({cards.when(s, services.timezone)})"}],
                tz=services.timezone,
                values={
                    "pupil": s.booking.pupils[0].name,
                    "session": s.ref,
                    "session_ended": "true",
                    "where": texts.CONCERN_WHERE_ONLINE,
                    "when_date": f"{(closure.actual_end or closure.closed_at).astimezone(ZoneInfo(services.timezone)):%Y-%m-%d}",
                    "when_time": f"{(closure.actual_end or closure.closed_at).astimezone(ZoneInfo(services.timezone)):%H:%M}",
                },
                notes=" ".join([texts.END_CONCERN_NEXT.format(reason=label), *notes]),
            )
            return Reply(replace=done, cards=(form,))
        return Reply(replace=done)
