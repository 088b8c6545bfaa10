"""Every card the bot can send validates against Adaptive Cards 1.5, every input has a label,
every verb on a card is routed, and every template is used."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.chat import Actor, Where
from bot.commands.book import form_card
from bot.commands.help import error_card, help_card
from bot.commands.registry import build_router
from bot.consent import ConsentRegistry, parse_csv
from bot.errors import NotPermitted, UsageError
from bot.policy.booking import Booking
from bot.policy.loader import bundled
from bot.render import TemplateError, render, template_names
from bot.sessions import cards as session_cards
from bot.sessions.model import PersonRef, Requirement, Session, State
from bot.store.tiny import TinyStore
from tests.policy.helpers import SCHOOL, base
from tests.support.schemas import assert_valid_card, card_text, inputs

ROOT = Path(__file__).resolve().parents[2]
TZ = "Europe/London"
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
CSV = "pupil,parent_name,parent_email,pupil_school_email,consent,date\nPip Example,Pat Example,parent.pip@example.com,pip@pupils.example.org,signed,2026-09-01\nQuinn Example,Quill Example,parent.quinn@example.com,,implied,2026-09-02\n"


def session(state: State, **extra: Any) -> Session:
    s = Session(
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
    return s


MEETING = {
    "booking_id": "S-ABC234",
    "join_url": "http://localhost/chaperone-local-meeting/S-ABC234?local=1",
    "event_id": "e",
    "meeting_id": "m",
    "settings": {
        "lobbyBypassSettings": {"scope": "organizer", "isDialInBypassEnabled": False},
        "allowMeetingChat": "disabled",
        "allowRecording": False,
    },
    "options_url": None,
    "local": True,
}


def all_session_cards() -> list[tuple[str, dict[str, Any]]]:
    p = bundled("000-two-staff")
    covered = PersonRef(name="Sam Senior", email="sam.senior@example.org", role="slt")
    out = []
    for st in State:
        extra: dict[str, Any] = {"second_adult": covered} if st is not State.AWAITING_SECOND_ADULT else {}
        if st in (State.SCHEDULED, State.ENDED):
            extra["meeting"] = MEETING
        s = session(st, **extra)
        out += [
            (f"status-{st.value}", session_cards.status_card(s, p, TZ)),
            (f"register-{st.value}", session_cards.register_card(s, p, TZ)),
            (f"request-{st.value}", session_cards.request_card(s, TZ)),
        ]
    out.append(
        ("status-no-slt", session_cards.status_card(session(State.AWAITING_SECOND_ADULT), p, TZ, slt_channel=False))
    )
    out.append(("request-list", session_cards.request_list_card([session(State.AWAITING_SECOND_ADULT)], TZ)))
    out.append(("request-list-empty", session_cards.request_list_card([], TZ)))
    out.append(("notice", session_cards.notice_card("Title", "line one", facts=[{"title": "a", "value": "b"}])))
    out.append(("error", error_card(UsageError("Bad."), "abc123")))
    out.append(("error-permit", error_card(NotPermitted("No."), "abc123")))
    return out


@pytest.fixture
async def services(tmp_path: Path) -> Any:
    store = TinyStore(tmp_path)
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    yield SimpleNamespace(
        store=store, consents=ConsentRegistry(store), profile=bundled("004-tces"), timezone=TZ, school=SCHOOL
    )
    await store.close()


@pytest.mark.parametrize(("name", "card"), all_session_cards(), ids=[n for n, _ in all_session_cards()])
def test_session_cards_are_valid(name: str, card: dict[str, Any]) -> None:
    assert_valid_card(card)


async def test_form_cards_are_valid_and_keep_values(services: Any) -> None:
    empty = await form_card(services)
    assert_valid_card(empty)
    assert "Pip Example (consent signed)" in card_text(empty)
    assert "Ask to record this session (needs SLT approval)" in card_text(empty)  # 004 leaves recording to SLT approval
    values = {
        "title": "Reading",
        "type": "group",
        "reason": "reading",
        "date": "2026-11-25",
        "time": "10:00",
        "duration": "45",
        "pupils": "Pip Example",
        "others": "Ann Other, ann.parent@example.com",
        "recording": "true",
        "chat": "true",
    }
    violation = {
        "rule": "004.learning-hours",
        "message": "Sessions must run between 09:00 and 16:00.",
        "source": {"file": "004.txt", "text": "Sessions should take place during normal learning hours"},
    }
    refused = await form_card(services, values, [violation])
    assert_valid_card(refused)
    text = card_text(refused)
    assert "Sessions must run between 09:00 and 16:00." in text and "normal learning hours" in text
    values = {n["id"]: n.get("value") for n in inputs(refused)}
    assert (
        values["title"] == "Reading"
        and values["date"] == "2026-11-25"
        and values["duration"] == 45
        and values["others"] == "Ann Other, ann.parent@example.com"
    )


async def test_form_offers_choices_only_where_the_profile_leaves_one(services: Any) -> None:
    services.profile = bundled("000-two-staff")
    ids = {n["id"] for n in inputs(await form_card(services))}
    assert "recording" not in ids and "chat" not in ids


def test_help_card_is_valid() -> None:
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
    services = SimpleNamespace(school=SCHOOL, profile=bundled("000-two-staff"))
    card = help_card(router, actor, services, "I don't know that.")
    assert_valid_card(card)
    assert "/book" in card_text(card) and "/setup" not in card_text(card)


def test_every_verb_on_every_card_is_routed() -> None:
    routed = set(build_router().verbs)
    found = set()
    for path in (ROOT / "bot" / "templates").glob("*.json"):
        found |= set(re.findall(r'"verb":\s*"([^"$]+)"', path.read_text()))
    assert found and found <= routed


def test_every_template_is_used_and_documented() -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    readme = (ROOT / "bot" / "templates" / "README.md").read_text()
    for name in template_names():
        assert re.search(rf'render\(\s*"{name}"', sources), f"bot/templates/{name}.json is never rendered"
        assert f"`{name}.json`" in readme, f"bot/templates/README.md does not describe {name}.json"


def test_unbound_data_is_an_error() -> None:
    with pytest.raises(TemplateError):
        render("error", {"title": "x"})


async def test_picker_offers_only_pupils_the_protocol_accepts_and_says_why_on_request(services: Any) -> None:
    services.profile = bundled("000-two-staff")  # signed consent only
    card = await form_card(services)
    [picker] = [n for n in inputs(card) if n["id"] == "pupils"]
    assert [c["value"] for c in picker["choices"]] == ["Pip Example"]
    [why] = [a for a in card["actions"] if a["type"] == "Action.ShowCard"]
    assert why["title"] == "Why are some pupils not listed?"
    assert "Quinn Example: Quinn Example's consent is only implied; your protocol needs signed consent." in card_text(
        why["card"]
    )
