"""Turn throughput: Chaperone's /help turn against a stock botbuilder 4.17.1 echo bot, same run.

    .venv/bin/python bench/turn_throughput.py [--requests 600] [--concurrency 50]

Both run the real CloudAdapter on aiohttp and reply with one Adaptive Card per message to a
loopback Bot Connector. Prints activities per second and p50 / p95 latency for each. The stock
bot runs in a child process with nothing of Chaperone's imported (Chaperone patches one msrest
hot spot at import; see bot/teams/adapter.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "CHAPERONE_LOCAL", "1"
)  # Chaperone runs in local mode here (bench/production.py runs it with an app id)

ECHO_BOT = r"""
import sys
from aiohttp import web
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

class Config:
    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""

adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "echo"}]}

class EchoBot:
    async def on_turn(self, ctx: TurnContext):
        await ctx.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

bot = EchoBot()

async def messages(req):
    return await adapter.process(req, bot)

app = web.Application()
app.router.add_post("/api/messages", messages)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def load(url: str, make: object, n: int, concurrency: int) -> tuple[float, list[float]]:
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def one(i: int) -> None:
            async with sem:
                t0 = time.perf_counter()
                async with http.post(f"{url}/api/messages", json=make(i)) as r:  # type: ignore[operator]
                    await r.read()
                    assert r.status in (200, 201), r.status
                lat.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(one(i) for i in range(min(20, n))))  # warm up
        lat.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0), sorted(lat)


def report(name: str, rate: float, lat: list[float]) -> None:
    print(
        f"{name:28} {rate:7.1f} activities/s   p50 {statistics.median(lat):6.1f} ms   p95 {lat[int(0.95 * len(lat))]:6.1f} ms"
    )


async def main(n: int, concurrency: int) -> None:
    from tests.support.serve import serve
    from tests.teams import activities as act
    from tests.teams.connector import FakeConnector

    class QuietConnector(FakeConnector):
        def _record(self, *a: object) -> None:
            pass

    connector = QuietConnector()
    crun, connector.url = await serve(connector.app())
    make = lambda i: act.message("/help", service_url=connector.url, user="tara")  # noqa: E731

    port = 39000 + (int(time.time()) % 1000)
    proc = subprocess.Popen([sys.executable, "-c", ECHO_BOT, str(port)])
    try:
        for _ in range(100):
            try:
                async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/"):
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        report("stock echo bot (4.17.1)", *await load(f"http://127.0.0.1:{port}", make, n, concurrency))
    finally:
        proc.terminate()
        proc.wait()

    from bot.app import create_app
    from bot.config import Settings

    tmp = Path(tempfile.mkdtemp())
    app = create_app(Settings(config_path=ROOT / "bot" / "example" / "chaperone.toml", data_dir=tmp), background=False)
    brun, url = await serve(app)
    report("Chaperone /help", *await load(url, make, n, concurrency))
    await brun.cleanup()
    await crun.cleanup()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=50)
    a = ap.parse_args()
    asyncio.run(main(a.requests, a.concurrency))
