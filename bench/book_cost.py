"""A command's own cost as history grows: /book submit (rules engine, store, local meeting provider)
at 0, 10k and 100k historical sessions, as a ratio to the cost at 0.

    .venv/bin/python bench/book_cost.py [--sizes 0 10000 100000] [--submits 60]

History is seeded as closed sessions spread over the previous 24 months (TinyStore.bulk_load
writes them straight into their month partitions). Each measured submit goes through the real
router with the real embedded store; the figure is the median wall time per submit, including
the meeting creation that follows it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.chat import CardAction, CardRef
from bot.clock import FixedClock
from bot.commands.registry import build_router
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.meetings.local import LocalMeetings
from bot.policy.booking import Booking
from bot.policy.loader import bundled
from bot.services import Services
from bot.sessions.model import PersonRef, Session, State
from bot.store.tiny import TinyStore
from tests.support.forms import CSV, FORM
from tests.support.harness import school_with
from tests.support.messenger import RecordingMessenger
from tests.support.people import actor

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)


class QuietMessenger(RecordingMessenger):
    """Accepts posts and updates without validating cards (the tests do that; here it would only add noise)."""

    async def post(self, conversation_key: str, card: dict) -> CardRef:
        self.posts.append((conversation_key, card))
        return CardRef(conversation_key=conversation_key, activity_id=f"act-{next(self.ids)}")

    async def update(self, posted: CardRef, card: dict) -> None:
        self.updates.append((posted, card))


def history(n: int) -> dict[str, dict]:
    base = Booking.model_validate(
        {
            "organiser": {"name": "Tara Teacher", "email": "tara.teacher@example.org"},
            "type": "group",
            "reason": "lesson",
            "start": "2024-11-25T10:00:00+00:00",
            "duration_minutes": 45,
            "pupils": [
                {"name": "Pip Example", "parent_email": "parent.pip@example.com", "consent": "signed"},
                {"name": "Quinn Example", "parent_email": "parent.quinn@example.com", "consent": "signed"},
            ],
        }
    )
    docs = {}
    for i in range(n):
        start = NOW - timedelta(days=1 + (i * 730) // max(n, 1), hours=i % 5)
        s = Session(
            ref=f"H-{i:07d}",
            state=State.ENDED,
            profile_id="000-two-staff",
            booking=base.model_copy(update={"start": start}),
            organiser=PersonRef(name="Tara Teacher", email="tara.teacher@example.org", aad_id="aad-tara"),
            second_adult=PersonRef(name="Sam Senior", email="sam.senior@example.org", role="slt"),
            created_at=start - timedelta(days=2),
            updated_at=start,
            open=False,
            day=start.date().isoformat(),
        )
        docs[s.ref] = s.to_doc()
    return docs


async def build(past: int, profile: str) -> Services:
    """Services on a fresh embedded store holding ``past`` closed sessions, channels set up."""
    folder = Path(tempfile.mkdtemp(prefix=f"chaperone-bench-{past}-"))
    store = TinyStore(folder)
    if past:
        store.bulk_load("sessions", history(past))
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    messenger = QuietMessenger()
    for key in ("channel:safeguarding", "channel:slt"):
        await messenger.remember(key, actor("ivy", "channel").where)
    return Services(
        settings=Settings(data_dir=folder),
        school=school_with("000-two-staff"),
        profile=bundled(profile),
        store=store,
        meetings=LocalMeetings(store),
        messenger=messenger,
        clock=FixedClock(NOW),
        meeting_retry_delays=(0.01,),
    )


async def measure(n: int, submits: int) -> float:
    services = await build(n, "003-crossways")
    store = services.store
    router = build_router()
    who = actor("tara")
    times = []
    for i in range(submits + 5):
        t0 = time.perf_counter()
        await router.dispatch(
            who,
            CardAction(verb="book.submit", data={"verb": "book.submit", **FORM}, card_activity_id=f"form-{i}"),
            services,
        )
        await services.tasks.drain()
        if i >= 5:  # warm-up
            times.append(time.perf_counter() - t0)
    await store.close()
    return statistics.median(times) * 1000


async def main(sizes: list[int], submits: int) -> None:
    base = None
    for n in sizes:
        ms = await measure(n, submits)
        base = base or ms
        print(
            f"book submit with {n:>7,} historical sessions: median {ms:6.2f} ms  ({ms / base:.2f}x the cost at {sizes[0]:,})"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000])
    ap.add_argument("--submits", type=int, default=60)
    a = ap.parse_args()
    asyncio.run(main(a.sizes, a.submits))
