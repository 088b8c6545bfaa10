"""The longest event-loop stall during a burst of 200 concurrent /book submits.

    .venv/bin/python bench/loop_stall.py [--burst 200] [--history 10000]

A ticker task asks to wake every millisecond and records how late it woke; the store's file work
runs in its worker thread, so the stall is only the CPU work of one step of one turn. Prints the
longest stall and the 99th percentile, and how long the burst took.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from book_cost import build

from bot.chat import CardAction
from bot.commands.registry import build_router
from tests.support.forms import FORM, school_day
from tests.support.people import actor


async def main(burst: int, past: int) -> None:
    services = await build(past, "000-two-staff")
    store = services.store
    router = build_router()
    who = actor("tara")
    # warm up imports and caches
    await router.dispatch(
        who,
        CardAction(
            verb="book.submit", data={"verb": "book.submit", **FORM, "date": school_day()}, card_activity_id="warm"
        ),
        services,
    )

    lateness: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t = loop.time()
            await asyncio.sleep(0.001)
            lateness.append((loop.time() - t - 0.001) * 1000)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    await asyncio.gather(
        *(
            router.dispatch(
                who,
                CardAction(
                    verb="book.submit",
                    data={"verb": "book.submit", **FORM, "date": school_day()},
                    card_activity_id=f"f{i}",
                ),
                services,
            )
            for i in range(burst)
        )
    )
    elapsed = time.perf_counter() - t0
    stop.set()
    await tick
    await services.tasks.drain()
    await store.close()
    lateness.sort()
    print(
        f"burst of {burst} concurrent book submits ({past:,} sessions of history): done in {elapsed:.2f} s; "
        f"longest event-loop stall {lateness[-1]:.1f} ms, p99 {lateness[int(len(lateness) * 0.99)]:.1f} ms over {len(lateness)} ticks"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--history", type=int, default=10_000)
    a = ap.parse_args()
    asyncio.run(main(a.burst, a.history))
