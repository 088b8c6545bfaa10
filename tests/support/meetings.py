"""Meeting test support: a Graph MeetingRequest, and a booking harness whose meetings go through a
given provider (the loopback Graph) with a Messenger a test can wait on without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from bot.commands.registry import build_router
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.meetings.provider import Invitee, MeetingProvider, MeetingRequest
from bot.policy.booking import Booking
from bot.policy.loader import bundled
from bot.policy.meeting import meeting_settings
from bot.services import Services
from bot.store.tiny import TinyStore
from tests.policy.helpers import base
from tests.support.forms import CSV
from tests.support.harness import Harness, school_with, setup_channels
from tests.support.messenger import RecordingMessenger
from tests.support.people import NOW
from tests.support.schemas import card_text

START = datetime(2026, 11, 25, 10, tzinfo=UTC)


def request(profile: str = "000-two-staff", *, booking_id: str = "S-ABC234", chat: bool = False) -> MeetingRequest:
    """Tara's reading group: two families, Sam as second adult, Hana (SLT) copied."""
    return MeetingRequest(
        booking_id=booking_id,
        subject="Oakfield Primary: reading group",
        start=START,
        end=START + timedelta(minutes=45),
        timezone="Europe/London",
        organiser_id="aad-tara",
        organiser_email="tara.teacher@example.org",
        attendees=(
            Invitee("Pat Example", "parent.pip@example.com"),
            Invitee("Quill Example", "parent.quinn@example.com"),
        ),
        second_adult=Invitee("Sam Senior", "sam.senior@example.org"),
        cc=(Invitee("Hana Head", "hana.head@example.org"),),
        notes=(
            "This is a group session: other children will also be present.",
            "Please do not share the link with anyone.",
        ),
        settings=meeting_settings(bundled(profile), Booking.model_validate({**base(), "chat": chat})),
    )


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
        """The first update of the card ``activity_id`` whose text contains ``text``."""
        return await self._wait(lambda: [c for c in self.updated(activity_id) if text in card_text(c)], timeout)

    async def _wait(self, found: Callable[[], list[dict[str, Any]]], timeout: float) -> dict[str, Any]:
        async def until() -> dict[str, Any]:
            while not (cards := found()):
                self._changed().clear()
                await self._changed().wait()
            return cards[0]

        return await asyncio.wait_for(until(), timeout)


async def harness_for(data_dir: Path, meetings: MeetingProvider, profile_id: str = "000-two-staff") -> Harness:
    """The router-level harness with ``meetings`` as provider, channels set up; the caller closes it."""
    store = TinyStore(data_dir)
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    services = Services(
        settings=Settings(data_dir=data_dir),
        school=school_with(profile_id),
        profile=bundled(profile_id),
        store=store,
        meetings=meetings,
        messenger=WatchingMessenger(),
        clock=FixedClock(NOW),
        meeting_retry_delays=(0.0, 0.0, 0.0, 600.0),
    )
    harness = Harness(build_router(), services, services.messenger)  # type: ignore[arg-type]
    await setup_channels(harness)
    return harness


async def book_and_accept(h: Harness, *, settle: bool = True) -> str:
    """Tara books the reading group; Sam (SLT) accepts as second adult, which starts the meeting
    (run by the outbox before this returns, unless ``settle`` is False)."""
    await h.book()
    [s] = await h.services.sessions.all()
    await h.act("sam", "second.accept", {"ref": s.ref}, kind="execute", settle=settle)
    return s.ref


def watcher(h: Harness) -> WatchingMessenger:
    assert isinstance(h.messenger, WatchingMessenger)
    return h.messenger
