"""/book: the booking form, and its submission checked against the school's protocol."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot import texts
from bot.chat import Actor, CardAction, CardRef, Command, Reply, action_key
from bot.commands.router import Router
from bot.consent import ConsentRecord
from bot.errors import NotPermitted, UsageError
from bot.policy.booking import Booking, Consent, Pupil
from bot.policy.eligibility import pupil_eligibility
from bot.policy.engine import evaluate
from bot.render import render
from bot.sessions import cards, workflow

if TYPE_CHECKING:
    from bot.services import Services
from bot.policy.model import ChatRule, RecordingRule

FIELDS = ("title", "type", "reason", "date", "time", "duration", "pupils", "others", "recording", "chat")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def offers(profile: Any) -> tuple[bool, bool]:
    """(offer recording, offer chat): a choice appears only where the profile leaves one."""
    rec, chat = profile.rule(RecordingRule), profile.rule(ChatRule)
    return (rec is not None and rec.mode == "slt_approval", chat is None or chat.mode == "during_session")


def hidden_reason(services: Services, record: ConsentRecord) -> str | None:
    """Why the protocol would refuse this pupil whatever the booking (its sentence, saying what to
    change), or None if it accepts them."""
    return pupil_eligibility(services.profile, services.school.policy_facts(), record).reason


async def form_card(
    services: Services,
    values: dict[str, Any] | None = None,
    violations: list[dict[str, Any]] | None = None,
    problems: list[str] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """The booking form; ``token`` (new for each form, kept when it is shown again with problems)
    is the idempotency key of its submission."""
    records = await services.consents.all()
    reasons = {r.pupil: hidden_reason(services, r) for r in records}
    registry = [r for r in records if reasons[r.pupil] is None]
    offer_rec, offer_chat = offers(services.profile)
    vals: dict[str, Any] = {k: "" for k in FIELDS}
    vals.update({"type": "group", "reason": "lesson", "duration": 30, "recording": "false", "chat": "false"})
    vals.update({k: v for k, v in (values or {}).items() if k in FIELDS and v is not None})
    if isinstance(vals["duration"], str) and vals["duration"].isdigit():
        vals["duration"] = int(vals["duration"])
    elif not isinstance(vals["duration"], int):
        vals["duration"] = 30
    return render(
        "book_form",
        {
            "profile": services.profile.name,
            "timezone": services.timezone,
            "violations": violations or [],
            "problems": problems or [],
            "hidden": [{"name": name, "reason": why} for name, why in reasons.items() if why],
            "values": vals,
            "registry": [{"name": r.pupil, "label": f"{r.pupil} ({cards.consent_label(r.consent)})"} for r in registry],
            "offer_recording": offer_rec,
            "offer_chat": offer_chat,
            "recording_note": texts.BOOK_RECORDING_NOTE if offer_rec else "",
            "token": token or uuid.uuid4().hex,
        },
    )


def _flag(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise UsageError(texts.FORM_FLAG.format(value=value))


async def parse_form(actor: Actor, data: dict[str, Any], services: Services) -> Booking:
    """The submitted form as a Booking, or a UsageError naming every problem."""
    email = actor.email or actor.upn
    if not email:
        raise UsageError(texts.NO_EMAIL, hint=texts.NO_EMAIL_HINT)
    problems: list[str] = []
    missing = [f for f in ("type", "reason", "date", "time", "duration") if not str(data.get(f) or "").strip()]
    if missing:
        problems.append(texts.BOOK_MISSING.format(fields=", ".join(missing)))
    tz = ZoneInfo(services.timezone)
    start = None
    try:
        if not missing:
            start = datetime.combine(
                date.fromisoformat(str(data["date"])), time.fromisoformat(str(data["time"])), tzinfo=tz
            )
    except ValueError:
        problems.append(texts.BOOK_BAD_WHEN)
    try:
        duration = int(float(str(data.get("duration") or 0)))
    except ValueError:
        duration = 0
        problems.append(texts.BOOK_BAD_LENGTH)
    pupils: list[Pupil] = []
    chosen = [n.strip() for n in str(data.get("pupils") or "").split(",") if n.strip()]
    for name in chosen:
        record = await services.consents.find(name)
        if record is None:
            problems.append(texts.BOOK_NOT_IN_REGISTRY.format(name=name))
        else:
            pupils.append(record.as_pupil())
    for n, line in enumerate(str(data.get("others") or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[0] or not _EMAIL.match(parts[1]):
            problems.append(texts.BOOK_OTHER_LINE.format(n=n))
            continue
        record = await services.consents.find(parts[0])
        if record is not None:
            pupils.append(record.as_pupil())
        else:
            pupils.append(Pupil(name=parts[0], parent_email=parts[1], consent=Consent.NONE))
    if not pupils and not problems:
        problems.append(texts.BOOK_NO_PUPIL)
    recording, chat = _flag(data.get("recording")), _flag(data.get("chat"))
    if problems:
        raise UsageError(" ".join(problems), hint=texts.FORM_FIX_HINT)
    try:
        return Booking(
            organiser={"name": actor.name, "email": email},
            type=data["type"],
            reason=data["reason"],
            start=start,
            duration_minutes=duration,
            pupils=pupils,
            recording=recording,
            chat=chat,
            title=str(data.get("title") or "").strip() or None,
        )
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'booking'}: {e['msg']}" for e in exc.errors())
        raise UsageError(texts.BOOKING_INCOMPLETE.format(msgs=msgs)) from exc


def register(router: Router) -> None:
    @router.command("book", summary=texts.HELP_SUMMARIES["book"], roles=("staff",))
    async def book(actor: Actor, cmd: Command, services: Services) -> Reply:
        form = await form_card(services)
        if actor.where.kind != "personal":
            return Reply(
                cards=(cards.notice_card(texts.BOOK_TITLE, texts.BOOK_SENT_PRIVATELY, shared=True),), private=(form,)
            )
        return Reply(cards=(form,))

    @router.verb("book.submit", roles=("staff",))
    async def submit(actor: Actor, action: CardAction, services: Services) -> Reply:
        values = {k: action.data.get(k) for k in FIELDS}
        try:
            booking = await parse_form(actor, action.data, services)
        except UsageError as exc:  # e.g. no pupils chosen: the same form again, in place, with everything kept
            form = await form_card(
                services, values, problems=[str(exc)], token=str(action.data.get("token") or "") or None
            )
            return Reply(replace=form) if action.card_activity_id else Reply(cards=(form,))
        decision = evaluate(services.profile, services.school.policy_facts(), booking, services.clock.now())
        if not decision.allowed:
            return Reply(
                replace=await form_card(
                    services,
                    values,
                    [v.to_json() for v in decision.violations],
                    token=str(action.data.get("token") or "") or None,
                )
            )
        conv_key = f"conv:{actor.where.conversation_id}"
        status_ref = (
            CardRef(conversation_key=conv_key, activity_id=action.card_activity_id) if action.card_activity_id else None
        )
        # one booking per form: the card's token, else the clicked message, else this activity
        session, _ = await workflow.create_session(
            actor, booking, decision, services, submission_key=action_key("book", actor, action), status_card=status_ref
        )
        slt = await services.messenger.has("channel:slt")
        card = cards.status_card(session, services.profile, services.timezone, slt_channel=slt)
        return Reply(replace=card) if status_ref else Reply(cards=(card,))

    @router.verb("session.cancel", roles=("staff",))
    async def cancel(actor: Actor, action: CardAction, services: Services) -> Reply:
        ref = str(action.data.get("ref") or "")
        if not ref:
            raise UsageError(texts.CARD_NO_SESSION)
        if str(action.data.get("confirmed") or "") != "yes":  # first say who will be told; cancel only when confirmed
            session = await workflow.cancellable(actor, ref, services)
            return Reply(replace=cards.cancel_confirm_card(session, actor_key=actor.key))
        session = await workflow.cancel(actor, ref, services)
        return Reply(replace=cards.status_card(session, services.profile, services.timezone))

    @router.verb("session.status", roles=("staff",))
    async def status(actor: Actor, action: CardAction, services: Services) -> Reply:
        session, _ = await services.sessions.get(str(action.data.get("ref") or ""))
        if not workflow.is_party(actor, session) and not actor.has("slt"):
            raise NotPermitted(texts.CANCEL_NOT_YOURS.format(ref=session.ref))
        slt = await services.messenger.has("channel:slt")
        return Reply(replace=cards.status_card(session, services.profile, services.timezone, slt_channel=slt))

    @router.verb("session.checklist", roles=("staff",))
    async def checklist(actor: Actor, action: CardAction, services: Services) -> Reply:
        session, _ = await services.sessions.get(str(action.data.get("ref") or ""))
        if not workflow.is_party(actor, session) and not actor.has("slt"):
            raise NotPermitted(texts.END_NOT_YOURS.format(ref=session.ref))
        session, drift = await workflow.verify_meeting(session.ref, services, by=actor.key)
        verified, color = (
            (texts.VERIFIED_REPAIRED.format(n=len(drift), fields=", ".join(d.field for d in drift)), "warning")
            if drift
            else (texts.VERIFIED_OK, "good")
        )
        sections = [
            {"title": texts.CHECKLIST_TITLES[w], "items": [c.text for c in services.profile.checklist if c.when == w]}
            for w in ("before", "during", "after")
        ]
        return Reply(
            cards=(
                render(
                    "checklist",
                    {
                        "ref": session.ref,
                        "verified": verified,
                        "verified_style": color,
                        "sections": [s for s in sections if s["items"]],
                    },
                ),
            )
        )
