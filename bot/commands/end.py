"""/end: close a session in the register with its outcome and who was present."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot import concern_views, texts
from bot.render import render
from bot.commands.router import Router
from bot.chat import Actor, CardAction, Command, Reply
from bot.errors import NotPermitted, UsageError
from bot.policy.engine import breach_notes
from bot.sessions import flow, views
from bot.sessions.model import EARLY_REASONS, Closure, PupilAttendance, Session, State


def _local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def end_form(s: Session, tz: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    start, end = _local(s.booking.start, tz), _local(s.booking.end, tz)
    vals = {"outcome": "completed", "early_reason": "", "actual_start": f"{start:%H:%M}", "actual_end": f"{end:%H:%M}", "note": ""}
    vals.update({k: v for k, v in (values or {}).items() if k in vals and v is not None})
    return render(
        "end_form",
        {"ref": s.ref, "summary": views.when(s, tz), "timezone": tz, "values": vals, "pupils": [{"name": p.name} for p in s.booking.pupils], "second_adult": s.second_adult.name if s.second_adult else ""},
    )


async def _closable(actor: Actor, ref: str, services: Any) -> Session:
    s, _ = await services.sessions.get(ref)
    if not flow.is_party(actor, s):
        raise NotPermitted(texts.END_NOT_YOURS.format(ref=s.ref))
    if s.state is not State.SCHEDULED:
        raise UsageError(texts.END_NOT_SCHEDULED.format(ref=s.ref, state=texts.STATE_LABELS[s.state.value]))
    return s


def _flag(data: dict[str, Any], key: str) -> bool:
    value = str(data.get(key, "")).lower()
    if value not in ("true", "false"):
        raise UsageError(texts.END_FORM_INCOMPLETE, hint=texts.END_FORM_INCOMPLETE_HINT)
    return value == "true"


def parse_closure(actor: Actor, s: Session, data: dict[str, Any], services: Any) -> Closure:
    outcome = str(data.get("outcome") or "")
    reason = str(data.get("early_reason") or "") or None
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
        PupilAttendance(name=p.name, present=_flag(data, f"present_{i}"), parent_at_start=_flag(data, f"parent_start_{i}"), parent_at_end=_flag(data, f"parent_end_{i}"))
        for i, p in enumerate(s.booking.pupils)
    ]
    return Closure(
        outcome=outcome, early_reason=reason if outcome == "ended_early" else None, actual_start=actual_start, actual_end=actual_end, pupils=pupils,
        second_adult_throughout=_flag(data, "second_throughout") if s.second_adult else None,
        note=str(data.get("note") or "")[:2000], closed_by=actor.key, closed_at=services.clock.now(),
    )


def register(router: Router) -> None:
    @router.command("end", summary=texts.HELP_SUMMARIES["end"], usage="/end [S-XXXXXX]", roles=("staff",))
    async def end(actor: Actor, cmd: Command, services: Any) -> Reply:
        tz = services.timezone
        if cmd.args:
            s = await _closable(actor, cmd.args[0], services)
            return Reply(cards=(end_form(s, tz),))
        today = services.clock.now().astimezone(ZoneInfo(tz)).date()
        mine = [s for s in await services.sessions.open_sessions(State.SCHEDULED) if flow.is_party(actor, s) and s.booking.start.astimezone(ZoneInfo(tz)).date() == today]
        mine.sort(key=lambda s: s.booking.start)
        card = render("end_list", {"title": texts.END_LIST_TITLE, "empty": "" if mine else texts.END_NONE_TODAY, "sessions": [{"ref": s.ref, "summary": views.when(s, tz)} for s in mine]})
        return Reply(cards=(card,))

    @router.verb("end.open", roles=("staff",))
    async def open_form(actor: Actor, action: CardAction, services: Any) -> Reply:
        s = await _closable(actor, str(action.data.get("ref") or ""), services)
        return Reply(cards=(end_form(s, services.timezone),))

    @router.verb("end.submit", roles=("staff",))
    async def submit(actor: Actor, action: CardAction, services: Any) -> Reply:
        s = await _closable(actor, str(action.data.get("ref") or ""), services)
        closure = parse_closure(actor, s, action.data, services)

        def close(x: Session) -> None:
            if x.state is not State.SCHEDULED:
                raise UsageError(texts.END_NOT_SCHEDULED.format(ref=x.ref, state=texts.STATE_LABELS[x.state.value]))
            x.closure = closure
            x.move(State.ENDED, at=closure.closed_at, by=actor.key)

        s = await services.sessions.update(s.ref, close)
        await services.audit.record(at=closure.closed_at, who=actor.key, action="session.ended", record=s.ref, detail=f"outcome={closure.outcome} reason={closure.early_reason or '-'}")
        await flow.refresh_cards(s, services)
        services.tasks.spawn(flow.collect_attendance(s.ref, services), name=f"attendance-{s.ref}")
        notes = [note for note, _ in breach_notes(services.profile, closure.early_reason)]
        done = views.notice_card(texts.END_DONE.format(ref=s.ref), *notes)
        if closure.early_reason in texts.CONCERN_REASONS:
            label = texts.EARLY_REASON_LABELS[closure.early_reason or ""]
            form = concern_views.form_card(
                categories=services.school.concerns.categories, pupils=[p.name for p in s.booking.pupils],
                sessions=[{"ref": s.ref, "title": f"{s.ref} ({views.when(s, services.timezone)})"}], tz=services.timezone,
                values={"pupil": s.booking.pupils[0].name, "session": s.ref, "session_ended": "true", "where": "In the online session",
                        "when_date": f"{closure.actual_end.astimezone(ZoneInfo(services.timezone)):%Y-%m-%d}", "when_time": f"{closure.actual_end.astimezone(ZoneInfo(services.timezone)):%H:%M}"},
                notes=" ".join([texts.END_CONCERN_NEXT.format(reason=label), *notes]),
            )
            return Reply(replace=done, cards=(form,))
        return Reply(replace=done)
