"""Every card the bot can send, rendered from fictional data: one list for the accessibility and audience tests."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bot import texts
from bot.chat import Actor, Where
from bot.commands.book import form_card
from bot.commands.help import error_card, help_card
from bot.commands.registry import build_router
from bot.concerns import cards as concern_cards
from bot.concerns.model import Concern
from bot.errors import Conflict, NotFound, NotPermitted, PolicyViolation, UsageError
from bot.policy.booking import Booking
from bot.policy.loader import bundled
from bot.render import render
from bot.sessions import cards as session_cards
from bot.sessions.model import Closure, PersonRef, Requirement, Session, State
from tests.policy.helpers import SCHOOL, base

TZ = "Europe/London"
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
PUPILS = ("Pip Example", "Quinn Example")
NARRATIVE = "He said the man in the video told him to keep a secret"
MEETING = {
    "booking_id": "S-ABC234",
    "join_url": "http://localhost/chaperone-local-meeting/S-ABC234?local=1",
    "event_id": "e",
    "meeting_id": "m",
    "settings": {
        "lobbyBypassSettings": {"scope": "organizer", "isDialInBypassEnabled": False},
        "allowedLobbyAdmitters": "organizerAndCoOrganizers",
        "allowedPresenters": "organizer",
        "allowMeetingChat": "disabled",
        "allowRecording": False,
        "allowAttendeeToEnableMic": False,
    },
    "options_url": None,
    "local": True,
}


def session(state: State, **extra: Any) -> Session:
    return Session(
        ref="S-ABC234",
        state=state,
        profile_id="000-two-staff",
        booking=Booking.model_validate(base()),
        organiser=PersonRef(name="Tara Teacher", email="tara.teacher@example.org", aad_id="aad-tara"),
        needs_second_adult=True,
        qualifies=["slt"],
        requirements=[Requirement(kind="tell_parents", detail="Two members of staff will be there.")],
        created_at=NOW,
        updated_at=NOW,
        day="2026-11-25",
        **extra,
    )


def concern(**extra: Any) -> Concern:
    return Concern(
        ref="C-ABC234",
        pupil=PUPILS[0],
        category="Online safety",
        what=NARRATIVE,
        child_words="keep a secret",
        when=NOW,
        raised_by="aad-tara",
        raised_by_name="Tara Teacher",
        raised_at=NOW,
        **extra,
    )


def _registry() -> Any:
    from bot.consent import ConsentRecord

    rows = [
        ConsentRecord(
            pupil=p, parent_name=f"Parent of {p}", parent_email=f"parent{i}@example.com", consent=c, date=NOW.date()
        )  # type: ignore[arg-type]
        for i, (p, c) in enumerate(zip(PUPILS, ("signed", "none"), strict=True))
    ]

    class Registry:
        async def all(self) -> list[Any]:
            return rows

    return Registry()


async def every_card() -> list[tuple[str, dict[str, Any]]]:
    """(name, card) for every template in every state it can take."""
    p = bundled("000-two-staff")
    covered = PersonRef(name="Sam Senior", email="sam.senior@example.org", role="slt")
    out: list[tuple[str, dict[str, Any]]] = []
    for st in State:
        extra: dict[str, Any] = {"second_adult": covered} if st is not State.AWAITING_SECOND_ADULT else {}
        if st in (State.SCHEDULED, State.ENDED):
            extra["meeting"] = MEETING
        if st is State.ENDED:
            extra["closure"] = Closure.model_validate(
                {
                    "outcome": "ended_early",
                    "early_reason": "technical",
                    "actual_start": NOW,
                    "actual_end": NOW,
                    "closed_by": "aad-tara",
                    "closed_at": NOW,
                    "pupils": [
                        {"name": n, "present": True, "parent_at_start": True, "parent_at_end": False} for n in PUPILS
                    ],
                }
            )
        s = session(st, **extra)
        out += [
            (f"status-{st.value}", session_cards.status_card(s, p, TZ)),
            (f"register-{st.value}", session_cards.register_card(s, p, TZ)),
            (f"request-{st.value}", session_cards.request_card(s, TZ)),
            (f"recording-{st.value}", session_cards.recording_card(s, TZ, "Recording needs SLT approval.")),
        ]
    scheduled = session(State.SCHEDULED, second_adult=covered, meeting=MEETING)
    out.append(("cancel-confirm-scheduled", session_cards.cancel_confirm_card(scheduled, actor_key="aad-sam")))
    out.append(
        (
            "cancel-confirm-waiting",
            session_cards.cancel_confirm_card(session(State.AWAITING_SECOND_ADULT), actor_key="aad-tara"),
        )
    )
    out.append(
        ("status-no-slt", session_cards.status_card(session(State.AWAITING_SECOND_ADULT), p, TZ, slt_channel=False))
    )
    out.append(("request-list", session_cards.request_list_card([session(State.AWAITING_SECOND_ADULT)], TZ)))
    out.append(("request-list-empty", session_cards.request_list_card([], TZ)))
    out.append(("notice", session_cards.notice_card("Title", "line one", facts=[{"title": "a", "value": "b"}])))
    out.append(
        ("end-form", session_cards.end_form(session(State.SCHEDULED, second_adult=covered, meeting=MEETING), TZ))
    )
    out.append(("end-list", session_cards.end_list_card([session(State.SCHEDULED)], TZ)))
    for cls in (UsageError, NotFound, NotPermitted, PolicyViolation, Conflict):
        out.append((f"error-{cls.__name__}", error_card(cls("Bad."), "abc123")))
    for style, verified in (("good", texts.VERIFIED_OK), ("warning", texts.VERIFIED_REPAIRED)):
        out.append(
            (
                f"checklist-{style}",
                render(
                    "checklist",
                    {
                        "ref": "S-ABC234",
                        "verified": verified,
                        "verified_style": style,
                        "sections": [{"title": "Before", "items": ["Check the lobby"]}],
                    },
                ),
            )
        )
    router = build_router()
    actor = Actor(
        user_id="u",
        aad_id="a",
        name="Tara",
        email="tara.teacher@example.org",
        upn=None,
        where=Where("personal", "c"),
        roles=frozenset({"staff"}),
    )
    hs = SimpleNamespace(school=SCHOOL, profile=p)
    out.append(("help", help_card(router, actor, hs)))  # type: ignore[arg-type]
    out.append(("help-unknown", help_card(router, actor, hs, "I don't know that.")))  # type: ignore[arg-type]
    fs = SimpleNamespace(consents=_registry(), profile=bundled("004-tces"), timezone=TZ, school=SCHOOL)
    out.append(("book-form", await form_card(fs)))  # type: ignore[arg-type]
    violation = {
        "rule": "004.learning-hours",
        "message": "Sessions must run between 09:00 and 16:00.",
        "source": {"file": "004.txt", "text": "Sessions should take place during normal learning hours"},
    }
    out.append(("book-form-refused", await form_card(fs, {"title": "Reading"}, [violation])))  # type: ignore[arg-type]
    out.append(
        (
            "concern-form",
            concern_cards.form_card(
                categories=("Online safety",),
                pupils=list(PUPILS),
                sessions=[{"ref": "S-ABC234", "title": "S-ABC234"}],
                tz=TZ,
                notes="Filled in from S-ABC234.",
            ),
        )
    )
    for name, c in (
        ("open", concern()),
        ("urgent", concern(immediate_risk=True)),
        ("acked", concern(acknowledged_by="aad-dee", acknowledged_by_name="Dee DSL", acknowledged_at=NOW)),
    ):
        out += [
            (f"concern-alert-{name}", concern_cards.alert_card(c, TZ)),
            (f"concern-detail-{name}", concern_cards.detail_card(c, TZ)),
            (f"concern-recorded-{name}", concern_cards.recorded_card(c)),
        ]
    out.append(
        (
            "concern-alert-reminder",
            concern_cards.alert_card(concern(), TZ, reminder=texts.CONCERN_NOT_ACKNOWLEDGED.format(minutes=30)),
        )
    )
    from bot.concerns.case import CaseEntry
    from bot.concerns.chronology import Item

    adult = concern(
        about="staff",
        tell=["head"],
        to_channel=False,
        guidance=["Tell the LADO within one working day."],
        route_sentence="A concern about staff goes to the headteacher.",
    )
    for name, c, reminder in (
        ("child", concern(route_sentence="Inform the DSL immediately."), 0),
        ("adult", adult, 0),
        ("repeat", concern(immediate_risk=True), 2),
        ("acked", concern(acknowledged_by="aad-dee", acknowledged_by_name="Dee DSL", acknowledged_at=NOW), 0),
    ):
        out.append((f"concern-notice-{name}", concern_cards.notice_card(c, TZ, reminder=reminder)))
    entries = [
        CaseEntry(
            ref="C-ABC234",
            seq=1,
            kind="decision",
            at=NOW,
            by="aad-dee",
            by_name="Dee DSL",
            text="Refer to Early Help: the family asked for support.",
        ),
        CaseEntry(
            ref="C-ABC234",
            seq=2,
            kind="referral",
            at=NOW,
            by="aad-dee",
            by_name="Dee DSL",
            agency="Early Help",
            agency_ref="EH-1",
            on=NOW.date(),
        ),
    ]
    out.append(
        ("concern-detail-case", concern_cards.detail_card(adult, TZ, entries=entries, pupils=[(PUPILS[0], "P-ABC234")]))
    )
    items = [
        Item(at=NOW, kind="concern", ref="C-ABC234", summary="Online safety; not urgent"),
        Item(at=NOW, kind="session", ref="S-ABC234", summary="Group of 2"),
    ]
    out += [
        ("concern-chronology", concern_cards.chronology_card(PUPILS[0], "P-ABC234", items, TZ)),
        ("concern-chronology-empty", concern_cards.chronology_card(PUPILS[0], "P-ABC234", [], TZ)),
    ]
    return out
