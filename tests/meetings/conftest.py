"""A running FakeGraph, a GraphMeetings pointed at it through the real msgraph-sdk, and a booking
harness (real router, store and workflow) that books through it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.commands.registry import build_router
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.meetings.graph import GraphMeetings
from bot.policy.loader import bundled
from bot.services import Services
from bot.store.tiny import TinyStore
from tests.commands.conftest import CSV, NOW, Harness, RecordingMessenger, school_with
from tests.commands.test_booking import setup_channels
from tests.fakes.graph_server import FakeGraph
from tests.support.schemas import card_text


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(users={"aad-tara"})
    fake.base_url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()
    assert fake.schema_failures == [], fake.schema_failures


@pytest.fixture
async def meetings(graph: FakeGraph) -> AsyncIterator[GraphMeetings]:
    # Short waits keep fault tests quick; Retry-After from the fake (1 s) is still honoured.
    provider = GraphMeetings.at(graph.base_url, timeout=1.0, retry_delay=0.2, max_retries=2)  # type: ignore[attr-defined]
    yield provider
    await provider.close()


class WatchingMessenger(RecordingMessenger):
    """A RecordingMessenger that lets a test wait (no sleeping) for a card with some text."""

    async def post(self, conversation_key: str, card: dict[str, Any]) -> Any:
        ref = await super().post(conversation_key, card)
        self._changed().set()
        return ref

    async def update(self, posted: Any, card: dict[str, Any]) -> None:
        await super().update(posted, card)
        self._changed().set()

    def _changed(self) -> asyncio.Event:
        if not hasattr(self, "_event"):
            self._event = asyncio.Event()
        return self._event

    async def wait_post(self, key: str, text: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """The first card posted to ``key`` whose text contains ``text`` (waits up to ``timeout``)."""
        return await self._wait(lambda: [c for c in self.posted_to(key) if text in card_text(c)], timeout)

    async def wait_update(self, activity_id: str, text: str, *, timeout: float = 60.0) -> dict[str, Any]:
        return await self._wait(lambda: [c for c in self.updated(activity_id) if text in card_text(c)], timeout)

    async def _wait(self, found: Any, timeout: float) -> dict[str, Any]:
        async def until() -> dict[str, Any]:
            while not (cards := found()):
                self._changed().clear()
                await self._changed().wait()
            return cards[0]  # type: ignore[no-any-return]

        return await asyncio.wait_for(until(), timeout)


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


async def harness_for(tmp_path: Path, meetings: Any, profile_id: str) -> Harness:
    store = TinyStore(tmp_path / "data")
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    messenger = WatchingMessenger()
    services = Services(settings=Settings(data_dir=tmp_path / "data"), school=school_with(profile_id), profile=bundled(profile_id), store=store,
                        meetings=meetings, messenger=messenger, clock=FixedClock(NOW), meeting_retry_delays=(0.05, 0.05, 0.05))
    harness = Harness(build_router(), services, messenger)
    await setup_channels(harness)
    return harness


@pytest.fixture
async def h(tmp_path: Path, meetings: GraphMeetings, profile_id: str) -> AsyncIterator[Harness]:
    harness = await harness_for(tmp_path, meetings, profile_id)
    yield harness
    await harness.services.tasks.close()
    await harness.services.store.close()


async def book_and_accept(h: Harness) -> str:
    """Tara books the reading group; Sam (SLT) accepts as second adult, which starts the meeting."""
    await h.book()
    [s] = await h.services.sessions.all()
    await h.act("sam", "second.accept", {"ref": s.ref}, kind="execute")
    return s.ref
