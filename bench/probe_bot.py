"""Chaperone as `chaperone serve` runs it (settings from the environment), plus a stall probe, for
the production benches: a ticker asks to wake every millisecond and GET /_stall answers the
longest lateness since the last reset (``?reset=1``), in wall time and in the loop thread's CPU time. The test consent registry is imported at
start so bench bookings name known pupils.

    CHAPERONE_LOCAL=1 PORT=... .venv/bin/python bench/probe_bot.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import SERVICES, create_app, freeze_heap  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.consent import ConsentRegistry, parse_csv  # noqa: E402
from tests.support.forms import CSV  # noqa: E402


def main() -> None:
    settings = Settings.from_env()
    settings.check_transport()
    app = create_app(settings, background=False)
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
        await ConsentRegistry(app[SERVICES].store).import_records(parse_csv(CSV))
        if os.environ.get("BENCH_GC"):  # try other collector thresholds
            gc.set_threshold(*(int(x) for x in os.environ["BENCH_GC"].split(",")))
        if os.environ.get("BENCH_LOOP_DEBUG"):  # name the slow callbacks (asyncio debug mode, on stderr)
            logging.basicConfig(level=logging.WARNING)
            asyncio.get_running_loop().set_debug(True)
            asyncio.get_running_loop().slow_callback_duration = float(os.environ["BENCH_LOOP_DEBUG"])
        app["ticker"] = asyncio.create_task(ticker())

    async def stall(request: web.Request) -> web.Response:
        value = {"longest_ms": worst[0], "longest_cpu_ms": worst[1], "longest_gc_ms": worst[2]}
        if request.query.get("reset"):
            worst[0] = worst[1] = worst[2] = 0.0
        return web.json_response(value)

    app.on_startup.append(start)
    app.on_startup.append(freeze_heap)  # as bot.app.run does
    app.router.add_get("/_stall", stall)
    web.run_app(app, host="127.0.0.1", port=settings.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
