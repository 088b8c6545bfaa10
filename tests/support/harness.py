"""Router-level test harness: the real router, commands, store and local meetings; a recording
Messenger stands in for Teams (the HTTP tests drive the real transport, see tests/support/bot.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.chat import CardAction, Reply, Where, parse_command
from bot.clock import FixedClock
from bot.commands.registry import build_router
from bot.commands.router import Router
from bot.config import EXAMPLE_CONFIG, SchoolConfig, Settings, load_school_config
from bot.consent import ConsentRegistry, parse_csv
from bot.meetings.local import LocalMeetings
from bot.policy.loader import bundled
from bot.services import Services
from bot.sessions.model import Session, State
from bot.store.tiny import TinyStore
from tests.support.forms import CSV, FORM
from tests.support.messenger import RecordingMessenger
from tests.support.outbox import settle as run_outbox
from tests.support.people import NOW, actor
from tests.support.schemas import assert_valid_card

SCHOOL = load_school_config(EXAMPLE_CONFIG)


@dataclass
class Harness:
    router: Router
    services: Services
    messenger: RecordingMessenger

    async def say(self, who: str, text: str, kind: str = "personal") -> Reply:
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

    async def act(
        self,
        who: str,
        verb: str,
        data: dict[str, Any],
        *,
        kind: str = "submit",
        card_id: str | None = "form-1",
        settle: bool = True,
    ) -> Reply:
        """A card action, then (``settle``) the side effects it owes, run by the outbox."""
        reply = await self.router.dispatch(
            actor(who),
            CardAction(verb=verb, data={"verb": verb, **data}, kind=kind, card_activity_id=card_id),
            self.services,
        )  # type: ignore[arg-type]
        _validate(reply)
        if settle:
            await run_outbox(self.services)
        return reply


def _validate(reply: Reply) -> None:
    for card in (*reply.cards, *reply.private, *((reply.replace,) if reply.replace else ())):
        assert_valid_card(card)


def school_with(profile: str) -> SchoolConfig:
    """The example school under another bundled profile, with two SLT members."""
    data = SCHOOL.model_dump()
    data["school"]["profile"] = profile
    data["roles"]["slt"] = ["sam.senior@example.org", "sian.second@example.org"]
    return SchoolConfig.model_validate(data)


@asynccontextmanager
async def start_harness(data_dir: Path, profile_id: str = "000-two-staff") -> AsyncIterator[Harness]:
    store = TinyStore(data_dir)
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    messenger = RecordingMessenger()
    services = Services(
        settings=Settings(data_dir=data_dir),
        school=school_with(profile_id),
        profile=bundled(profile_id),
        store=store,
        meetings=LocalMeetings(store),
        messenger=messenger,
        clock=FixedClock(NOW),
        meeting_retry_delays=(0.0, 0.0, 600.0),
    )
    try:
        yield Harness(build_router(), services, messenger)
    finally:
        await services.tasks.close()
        await store.close()


async def setup_channels(h: Harness) -> None:
    """As if an admin had typed /setup in the safeguarding and SLT channels."""
    await h.messenger.remember(
        "channel:safeguarding", Where("channel", "chan-safe", team_id="team-1", channel_id="chan-safe")
    )
    await h.messenger.remember("channel:slt", Where("channel", "chan-slt", team_id="team-1", channel_id="chan-slt"))


async def scheduled(h: Harness) -> Session:
    """A booked session whose second adult (Sam) accepted and whose meeting exists."""
    await setup_channels(h)
    await h.book()
    [s] = await h.services.sessions.all()
    await h.act("sam", "second.accept", {"ref": s.ref}, kind="execute")
    await h.services.tasks.drain()
    s, _ = await h.services.sessions.get(s.ref)
    assert s.state is State.SCHEDULED
    h.services.clock.at = s.booking.start + timedelta(minutes=5)  # type: ignore[attr-defined]  # /end is for a session that has started
    return s
