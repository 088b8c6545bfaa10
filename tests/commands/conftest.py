"""Router-level fixtures: real commands, real store and local meetings; a recording Messenger
stands in for Teams (the HTTP tests in tests/teams drive the real transport)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.commands.registry import build_router
from bot.commands.router import Router
from bot.chat import Actor, CardAction, Command, CardRef, Reply, Where
from bot.config import SchoolConfig, Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.errors import NotFound
from bot.meetings.local import LocalMeetings
from bot.policy.loader import bundled
from bot.services import Services
from bot.store.tiny import TinyStore
from tests.policy.helpers import SCHOOL
from tests.support.outbox import settle as run_outbox
from tests.support.schemas import assert_valid_card

NOW = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
CSV = (
    "pupil,parent_name,parent_email,pupil_school_email,consent,date\n"
    "Pip Example,Pat Example,parent.pip@example.com,pip@pupils.example.org,signed,2026-09-01\n"
    "Quinn Example,Quill Example,parent.quinn@example.com,quinn@pupils.example.org,signed,2026-09-02\n"
    "Robin Example,Rae Example,parent.robin@example.com,,implied,2026-09-03\n"
)


@dataclass
class RecordingMessenger:
    refs: dict[str, Where] = field(default_factory=dict)
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[CardRef, dict[str, Any]]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    async def post(self, conversation_key: str, card: dict[str, Any]) -> CardRef:
        if conversation_key not in self.refs:
            raise NotFound(f"no {conversation_key}")
        assert_valid_card(card)
        self.posts.append((conversation_key, card))
        return CardRef(conversation_key=conversation_key, activity_id=f"act-{next(self.ids)}")

    async def update(self, posted: CardRef, card: dict[str, Any]) -> None:
        assert_valid_card(card)
        self.updates.append((posted, card))

    async def remember(self, conversation_key: str, where: Where, *, user_id: str | None = None) -> None:
        self.refs[conversation_key] = where

    async def has(self, conversation_key: str) -> bool:
        return conversation_key in self.refs

    def posted_to(self, key: str) -> list[dict[str, Any]]:
        return [c for k, c in self.posts if k == key]

    def updated(self, activity_id: str) -> list[dict[str, Any]]:
        return [c for p, c in self.updates if p.activity_id == activity_id]


PEOPLE = {
    "tara": ("Tara Teacher", "tara.teacher@example.org"),
    "oli": ("Oli Other", "oli.other@example.org"),
    "sam": ("Sam Senior", "sam.senior@example.org"),
    "dee": ("Dee Lead", "dee.lead@example.org"),
    "ivy": ("Ivy Admin", "ivy.admin@example.org"),
    "stranger": ("Sol Stranger", "sol@mail.example.com"),
    "sian": ("Sian Second", "sian.second@example.org"),
}


def actor(who: str, kind: str = "personal") -> Actor:
    name, email = PEOPLE[who]
    where = Where(kind, f"conv-{who}" if kind == "personal" else "team-1;messageid=1", tenant_id="tenant", team_id="team-1" if kind == "channel" else None, channel_id="chan-1" if kind == "channel" else None)
    return Actor(user_id=f"29:{who}", aad_id=f"aad-{who}", name=name, email=email, upn=email, where=where)


@dataclass
class Harness:
    router: Router
    services: Services
    messenger: RecordingMessenger

    async def say(self, who: str, text: str, kind: str = "personal") -> Reply:
        from bot.chat import parse_command

        cmd = parse_command(text)
        assert cmd is not None
        reply = await self.router.dispatch(actor(who, kind), cmd, self.services)
        _validate(reply)
        return reply

    async def book(self, who: str = "tara", form: dict[str, Any] | None = None, **kw: Any) -> Reply:
        """Submit the booking form and let what follows (channel cards, meeting) finish."""
        reply = await self.act(who, "book.submit", form if form is not None else FORM, **kw)
        await self.services.tasks.drain()
        return reply

    async def act(self, who: str, verb: str, data: dict[str, Any], *, kind: str = "submit", card_id: str | None = "form-1", settle: bool = True) -> Reply:
        """A card action, then (``settle``) the side effects it owes, run by the outbox."""
        reply = await self.router.dispatch(actor(who), CardAction(verb=verb, data={"verb": verb, **data}, kind=kind, card_activity_id=card_id), self.services)  # type: ignore[arg-type]
        _validate(reply)
        if settle:
            await run_outbox(self.services)
        return reply


def _validate(reply: Reply) -> None:
    for card in (*reply.cards, *reply.private, *((reply.replace,) if reply.replace else ())):
        assert_valid_card(card)


def school_with(profile: str) -> SchoolConfig:
    data = SCHOOL.model_dump()
    data["school"]["profile"] = profile
    data["roles"]["slt"] = ["sam.senior@example.org", "sian.second@example.org"]
    return SchoolConfig.model_validate(data)


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


@pytest.fixture
async def harness(tmp_path: Path, profile_id: str) -> AsyncIterator[Harness]:
    store = TinyStore(tmp_path / "data")
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    messenger = RecordingMessenger()
    services = Services(
        settings=Settings(data_dir=tmp_path / "data"), school=school_with(profile_id), profile=bundled(profile_id),
        store=store, meetings=LocalMeetings(store), messenger=messenger, clock=FixedClock(NOW), meeting_retry_delays=(0.01, 0.01),
    )
    yield Harness(build_router(), services, messenger)
    await services.tasks.close()
    await store.close()


FORM = {"title": "Reading group", "type": "group", "reason": "lesson", "date": "2026-11-25", "time": "10:00", "duration": "45", "pupils": "Pip Example,Quinn Example", "others": ""}
