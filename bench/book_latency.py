"""Time from a teacher's /book submit to the first answer card, through the real app and CloudAdapter.

    .venv/bin/python bench/book_latency.py [--rounds 200] [--concurrency 1 10]

A loopback Bot Connector records the moment the status card arrives (the in-place update of the
form). Prints p50 / p95 / max in milliseconds for each concurrency level.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault(
    "CHAPERONE_LOCAL", "1"
)  # Chaperone runs in local mode here (bench/production.py runs it with an app id)

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from tests.support.bot import CONFIG
from tests.support.forms import CSV, FORM
from tests.support.people import NOW
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.connector import FakeConnector


class TimedConnector(FakeConnector):
    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def _record(self, method: str, conv: str, activity_id: str, body: dict[str, Any]) -> None:
        pass  # the tests validate every card; here validation would only slow the fake down

    async def _update(self, request: web.Request) -> web.Response:
        self.arrived.setdefault(request.match_info["activity_id"], time.perf_counter())
        return await super()._update(request)


async def main(rounds: int, levels: list[int]) -> None:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "chaperone.toml").write_text(CONFIG.format(profile="002-lobby-two-staff"))
    app = create_app(
        Settings(config_path=tmp / "chaperone.toml", data_dir=tmp / "data"), clock=FixedClock(NOW), background=False
    )
    await ConsentRegistry(app[SERVICES].store).import_records(parse_csv(CSV))
    connector = TimedConnector()
    crun, connector.url = await serve(connector.app())
    brun, url = await serve(app)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> float:
            form_id = f"form-{i}"
            activity = act.submit({"verb": "book.submit", **FORM}, reply_to=form_id, service_url=connector.url)
            t0 = time.perf_counter()
            async with http.post(f"{url}/api/messages", json=activity) as r:
                assert r.status == 200, r.status
            return (connector.arrived[form_id] - t0) * 1000

        await one(-1)  # warm up
        n = 0
        for level in levels:
            times: list[float] = []
            for start in range(0, rounds, level):
                batch = await asyncio.gather(*(one(n + k) for k in range(min(level, rounds - start))))
                n += len(batch)
                times.extend(batch)
            times.sort()
            p = lambda q, times=times: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
            print(
                f"submit -> first answer card, concurrency {level:3}: n={len(times)} p50={statistics.median(times):.1f} ms p95={p(0.95):.1f} ms max={times[-1]:.1f} ms"
            )
    await app[SERVICES].tasks.drain()
    await brun.cleanup()
    await crun.cleanup()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 10])
    a = ap.parse_args()
    asyncio.run(main(a.rounds, a.concurrency))
