"""/concern: the form, its submission parsed, and the DSL's Acknowledge and Open buttons (the workflow does the rest)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot import roles, texts
from bot.chat import Actor, CardAction, Command, Reply, action_key
from bot.commands.router import Router
from bot.concerns import cards, chronology, workflow
from bot.concerns.case import Case, CaseEntry
from bot.concerns.model import Concern
from bot.consent import key_of
from bot.errors import NotFound, UsageError
from bot.sessions import cards as session_cards
from bot.sessions.model import Session
from bot.sessions.workflow import is_party

if TYPE_CHECKING:
    from bot.services import Services

RECENT_DAYS = 14  # the concern form offers the user's sessions from the last fortnight
KEY = re.compile(r"P-[2-9A-HJ-NP-Z]{6}")
MAX_LISTED = 150  # pupils listed on the form at most (Teams limits a card's size)


async def _my_sessions(actor: Actor, services: Services) -> list[Session]:
    today = services.clock.now().date()
    recent = await services.sessions.on_days(
        (today - timedelta(days=RECENT_DAYS)).isoformat(), (today + timedelta(days=1)).isoformat()
    )
    candidates = {s.ref: s for s in [*recent, *await services.sessions.open_sessions()]}
    mine = [s for s in candidates.values() if is_party(actor, s)]
    mine.sort(key=lambda s: s.booking.start, reverse=True)
    return mine[:20]


async def form_pupils(mine: list[Session], services: Services) -> list[tuple[str, str]]:
    """(name, key) choices: the whole registry when it is small, else the pupils of the user's recent
    sessions (a card must stay small); a typed name that is in the registry is linked on submit anyway."""
    registry = [r for r in await services.consents.all() if r.pupil_key]
    if len(registry) > MAX_LISTED:
        names = {key_of(p.name) for s in mine for p in s.booking.pupils}
        registry = [r for r in registry if r.key in names]
    return sorted(((r.pupil, r.pupil_key) for r in registry), key=lambda p: p[0].casefold())


async def concern_form(actor: Actor, services: Services) -> dict[str, Any]:
    mine = await _my_sessions(actor, services)
    pupils = await form_pupils(mine, services)
    sessions = [{"ref": s.ref, "title": f"{s.ref} ({session_cards.when(s, services.timezone)})"} for s in mine]
    now = services.clock.now().astimezone(ZoneInfo(services.timezone))
    return cards.form_card(
        categories=services.school.concerns.categories,
        pupils=pupils,
        sessions=sessions,
        tz=services.timezone,
        values={"when_date": f"{now:%Y-%m-%d}", "when_time": f"{now:%H:%M}"},
    )


def _flag(data: dict[str, Any], key: str) -> bool:
    return str(data.get(key, "false")).lower() == "true"


@dataclass(frozen=True)
class Pupils:
    """The pupils of a submitted form: registry records (by key) and names typed or not in the registry."""

    names: tuple[str, ...]
    keys: tuple[str, ...]
    unlinked: tuple[str, ...]


async def resolve_pupils(data: dict[str, Any], services: Services) -> Pupils:
    picked = [v.strip() for v in str(data.get("pupil") or "").split(",") if v.strip()]
    typed = [v.strip() for v in str(data.get("pupil_other") or "").split(",") if v.strip()]
    names: list[str] = []
    keys: list[str] = []
    unlinked: list[str] = []
    for value in [*picked, *typed]:
        record = await services.consents.lookup(value)
        if record is not None and record.pupil_key:
            if record.pupil_key not in keys:
                names.append(record.pupil)
                keys.append(record.pupil_key)
        elif value in picked and KEY.fullmatch(value.upper()):
            raise UsageError(texts.CONCERN_UNKNOWN_PUPIL, hint=texts.CONCERN_NOT_SENT_HINT)  # a forged key
        else:
            names.append(value)
            unlinked.append(value)
    if not names:
        raise UsageError(texts.CONCERN_NEEDS_PUPIL, hint=texts.CONCERN_NOT_SENT_HINT)
    return Pupils(tuple(names), tuple(keys), tuple(unlinked))


async def check_session(actor: Actor, data: dict[str, Any], services: Services) -> None:
    """The session named on the form must be one of this user's (it reaches the channel alert)."""
    ref = str(data.get("session") or "").strip()
    if not ref:
        return
    try:
        s, _ = await services.sessions.get(ref)
    except NotFound:
        raise UsageError(texts.CONCERN_BAD_SESSION, hint=texts.CONCERN_NOT_SENT_HINT) from None
    if not is_party(actor, s):
        raise UsageError(texts.CONCERN_BAD_SESSION, hint=texts.CONCERN_NOT_SENT_HINT)


def parse_concern(actor: Actor, data: dict[str, Any], services: Services, ref: str, pupils: Pupils) -> Concern:
    about = str(data.get("about") or "child")
    if about not in texts.CONCERN_ABOUT_CHOICES:
        raise UsageError(texts.CONCERN_BAD_ABOUT, hint=texts.CONCERN_NOT_SENT_HINT)
    category = str(data.get("category") or "")
    if category not in services.school.concerns.categories:
        raise UsageError(texts.CONCERN_CHOOSE_CATEGORY, hint=texts.CONCERN_NOT_SENT_HINT)
    tz = ZoneInfo(services.timezone)
    try:
        when = datetime.combine(
            date.fromisoformat(str(data.get("when_date"))), time.fromisoformat(str(data.get("when_time"))), tzinfo=tz
        )
    except ValueError:
        raise UsageError(texts.CONCERN_BAD_WHEN, hint=texts.CONCERN_NOT_SENT_HINT) from None
    now = services.clock.now()
    try:
        return Concern(
            ref=ref,
            pupil=", ".join(pupils.names),
            pupil_keys=list(pupils.keys),
            unlinked=", ".join(pupils.unlinked),
            about=about,
            session_ref=str(data.get("session") or "").strip().upper() or None,
            category=category,
            what=str(data.get("what") or "").strip(),
            child_words=str(data.get("child_words") or "").strip(),
            when=when,
            where=str(data.get("where") or "").strip(),
            action_taken=str(data.get("action_taken") or "").strip(),
            session_ended=_flag(data, "session_ended"),
            immediate_risk=_flag(data, "immediate_risk"),
            raised_by=actor.key,
            raised_by_name=actor.name,
            raised_by_email=actor.email,
            raised_at=now,
            day=now.date().isoformat(),
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
        pupils = await resolve_pupils(action.data, services)
        await check_session(actor, action.data, services)
        parse_concern(actor, action.data, services, "C-CHECK", pupils)  # validate before anything is stored
        stored = await workflow.raise_concern(
            actor,
            lambda ref: parse_concern(actor, action.data, services, ref, pupils),
            services,
            key=action_key("concern", actor, action),
        )
        card = cards.recorded_card(stored)
        return Reply(replace=card) if action.card_activity_id else Reply(cards=(card,))

    def _clicked(concern: Concern, actor: Actor, services: Services) -> dict[str, Any]:
        """The card that was clicked, refreshed: the personal notice in a personal chat, else the channel alert."""
        if actor.where.kind == "personal":
            return cards.notice_card(concern, services.timezone)
        return cards.alert_card(concern, services.timezone)

    @router.verb("concern.ack")
    async def acknowledge(actor: Actor, action: CardAction, services: Services) -> Reply:
        concern = await workflow.acknowledge(actor, str(action.data.get("ref") or ""), services)
        return Reply(replace=_clicked(concern, actor, services))

    @router.verb("concern.open")
    async def open_detail(actor: Actor, action: CardAction, services: Services) -> Reply:
        concern = await workflow.open_detail(actor, str(action.data.get("ref") or ""), services)
        detail = await case_card(concern, services)
        if actor.where.kind == "personal":
            return Reply(replace=_clicked(concern, actor, services), cards=(detail,))
        return Reply(replace=_clicked(concern, actor, services), private=(detail,))

    @router.verb("concern.entry")
    async def add_entry(actor: Actor, action: CardAction, services: Services) -> Reply:
        ref = str(action.data.get("ref") or "")
        entry = await parse_entry(actor, ref, action.data, services)
        await workflow.add_entry(actor, entry, services)
        concern, _ = await services.concerns.get(ref)
        detail = await case_card(concern, services)
        return (
            Reply(replace=detail)
            if actor.where.kind == "personal"
            else Reply(replace=cards.alert_card(concern, services.timezone), private=(detail,))
        )

    @router.command(
        "chronology", summary=texts.HELP_SUMMARIES["chronology"], usage="/chronology PUPIL", roles=("dsl", "dsl_deputy")
    )
    async def chronology_cmd(actor: Actor, cmd: Command, services: Services) -> Reply:
        wanted = " ".join(cmd.args).strip()
        if not wanted:
            raise UsageError(texts.CHRONOLOGY_USAGE)
        pupil = await services.consents.lookup(wanted)
        if pupil is None:
            raise UsageError(texts.CHRONOLOGY_NO_PUPIL, hint=texts.CHRONOLOGY_USAGE)
        items = await chronology.chronology(pupil, services.store)
        await services.audit.record(
            at=services.clock.now(),
            who=actor.key,
            action="pupil.chronology.viewed",
            record=pupil.pupil_key,
            detail=f"items={len(items)} {roles.audit_source(actor, 'dsl', 'dsl_deputy')}".strip(),
        )
        card = cards.chronology_card(pupil.pupil, pupil.pupil_key, items, services.timezone)
        return Reply(cards=(card,)) if actor.where.kind == "personal" else Reply(private=(card,))


async def case_card(concern: Concern, services: Services) -> dict[str, Any]:
    entries = await Case(services.store).entries(concern.ref)
    pupils = [(r.pupil, r.pupil_key) for r in await services.consents.all() if r.pupil_key] if concern.unlinked else []
    return cards.detail_card(concern, services.timezone, entries=entries, pupils=sorted(pupils))


async def parse_entry(actor: Actor, ref: str, data: dict[str, Any], services: Services) -> CaseEntry:
    kind = str(data.get("kind") or "")
    if kind not in texts.CASE_KINDS or kind == "acknowledged":
        raise UsageError(texts.CASE_BAD_KIND)
    text = str(data.get("text") or "").strip()
    on_raw = str(data.get("on") or "").strip()
    try:
        on = date.fromisoformat(on_raw) if on_raw else None
    except ValueError:
        raise UsageError(texts.CASE_BAD_DATE) from None
    agency, system, pupil_key = (
        str(data.get("agency") or "").strip(),
        str(data.get("system") or "").strip(),
        str(data.get("pupil_key") or "").strip().upper(),
    )
    if kind in ("decision", "action", "outcome", "note") and not text:
        raise UsageError(texts.CASE_NEEDS_TEXT)
    if kind == "referral" and not (agency and on):
        raise UsageError(texts.CASE_REFERRAL_NEEDS)
    if kind == "transferred" and not (system and on):
        raise UsageError(texts.CASE_TRANSFER_NEEDS)
    if kind == "linked" and (not pupil_key or await services.consents.by_key(pupil_key) is None):
        raise UsageError(texts.CASE_LINK_NEEDS)
    try:
        return CaseEntry(
            ref=ref.strip().upper(),
            kind=kind,
            at=services.clock.now(),
            by=actor.key,
            by_name=actor.name,
            text=text,
            agency=agency if kind == "referral" else "",
            agency_ref=str(data.get("agency_ref") or "").strip() if kind == "referral" else "",
            on=on if kind in ("referral", "transferred") else None,
            system=system if kind == "transferred" else "",
            pupil_key=pupil_key if kind == "linked" else "",
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors()}))
        raise UsageError(texts.CONCERN_COMPLETE.format(fields=fields)) from exc
