"""Chaperone as `chaperone serve` runs it (settings from the environment), plus a stall probe, for
the production benches: a ticker asks to wake every millisecond and GET /_stall answers the
longest lateness since the last reset (``?reset=1``), in wall time and in the loop thread's CPU time,
and the store calls made since then (by turns and by background work). The test consent registry is imported at
start so bench bookings name known pupils.

    CHAPERONE_LOCAL=1 PORT=... .venv/bin/python bench/probe_bot.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import SERVICES, create_app, freeze_heap
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.store import open_store
from bot.store.base import Record
from tests.support.forms import CSV


class CountingStore:
    """The store, counting its calls (round trips on Azure Tables) by who made them: a turn (an
    HTTP request's task) or background work (a task the bot's Tasks spawned: the outbox)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()
        self.background: set[asyncio.Task[Any]] = set()

    def _count(self, op: str, table: str) -> None:
        task = asyncio.current_task()
        self.counts[f"{'background' if task in self.background else 'turn'} {op} {table}"] += 1

    async def get(self, table: str, key: str) -> Record | None:
        self._count("get", table)
        return await self.inner.get(table, key)  # type: ignore[no-any-return]

    async def insert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        self._count("insert", table)
        return await self.inner.insert(table, key, doc)  # type: ignore[no-any-return]

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        self._count("replace", table)
        return await self.inner.replace(table, key, doc, etag=etag)  # type: ignore[no-any-return]

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        self._count("upsert", table)
        return await self.inner.upsert(table, key, doc)  # type: ignore[no-any-return]

    async def upsert_many(self, table: str, docs: Any) -> int:
        self._count("upsert_many", table)
        return await self.inner.upsert_many(table, docs)  # type: ignore[no-any-return]

    async def delete(self, table: str, key: str) -> None:
        self._count("delete", table)
        await self.inner.delete(table, key)

    async def query(self, table: str, where: Any = None, *, days: Any = None) -> list[Record]:
        self._count("query", table)
        return await self.inner.query(table, where, days=days)  # type: ignore[no-any-return]

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        self._count("append", table)
        return await self.inner.append(table, doc)  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.inner.close()


def main() -> None:
    settings = Settings.from_env()
    settings.check_transport()
    counting = CountingStore(open_store(settings))
    app = create_app(settings, store=counting, background=False)  # type: ignore[arg-type]
    worst = [0.0, 0.0, 0.0]
    collecting = [0.0, 0.0]  # the collector's total time so far, and when the current collection started

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[1] = time.perf_counter()
        else:
            collecting[0] += time.perf_counter() - collecting[1]

    import gc

    gc.callbacks.append(on_gc)

    async def ticker() -> None:
        """Wall-clock lateness, and the loop thread's own CPU time over the same tick: on a busy
        2-core machine the OS deschedules the process (wall lateness, no CPU); a callback that
        hogs the loop shows in both."""
        loop = asyncio.get_running_loop()
        while True:
            t, c, g = loop.time(), time.thread_time(), collecting[0]
            await asyncio.sleep(0.001)
            late = (loop.time() - t - 0.001) * 1000
            if late > worst[0]:
                worst[0], worst[2] = late, (collecting[0] - g) * 1000
            worst[1] = max(worst[1], (time.thread_time() - c) * 1000)

    async def start(app: web.Application) -> None:
        tasks = app[SERVICES].tasks
        counting.background = tasks._tasks  # the live set of background tasks (bench only)
        await ConsentRegistry(app[SERVICES].store).import_records(parse_csv(CSV))
        if os.environ.get("BENCH_GC"):  # try other collector thresholds
            gc.set_threshold(*(int(x) for x in os.environ["BENCH_GC"].split(",")))
        if os.environ.get("BENCH_LOOP_DEBUG"):  # name the slow callbacks (asyncio debug mode, on stderr)
            logging.basicConfig(level=logging.WARNING)
            asyncio.get_running_loop().set_debug(True)
            asyncio.get_running_loop().slow_callback_duration = float(os.environ["BENCH_LOOP_DEBUG"])
        app["ticker"] = asyncio.create_task(ticker())

    async def stall(request: web.Request) -> web.Response:
        value = {
            "longest_ms": worst[0],
            "longest_cpu_ms": worst[1],
            "longest_gc_ms": worst[2],
            "store_calls": dict(counting.counts),
        }
        if request.query.get("reset"):
            worst[0] = worst[1] = worst[2] = 0.0
            counting.counts.clear()
            if profile is not None:
                profile.enable()
        elif profile is not None:  # the burst is over: where the loop thread's time went
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])
        return web.json_response(value)

    profile = None
    if os.environ.get("BENCH_PROFILE"):  # a file: cProfile of the burst (from the reset to the next GET /_stall)
        import cProfile

        profile = cProfile.Profile()
    app.on_startup.append(start)
    app.on_startup.append(freeze_heap)  # as bot.app.run does
    app.router.add_get("/_stall", stall)
    web.run_app(app, host="127.0.0.1", port=settings.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
