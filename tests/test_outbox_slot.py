"""The outbox's background runs share one store slot; a turn running a record's jobs itself never queues behind them."""

from __future__ import annotations

import asyncio

from bot import outbox
from bot.outbox import Outbox


async def test_a_turns_own_run_goes_straight_past_the_background_slot() -> None:
    box = Outbox()
    held, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def background(name: str) -> None:
        outbox._BACKGROUND.set(True)  # as a kicked run or a worker pass
        async with box.store_slot():
            order.append(name)
            held.set()
            await release.wait()

    first = asyncio.create_task(background("first"))
    await held.wait()
    second = asyncio.create_task(background("second"))
    async with box.store_slot():  # this test is "the turn": the slot is held, yet it enters
        order.append("turn")
    release.set()
    await asyncio.gather(first, second)
    assert order == ["first", "turn", "second"]
