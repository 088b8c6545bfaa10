"""Production-mode turns and the morning rush, Chaperone beside the stock botbuilder 4.17.1 echo
bot, in one run (issue 13).

    .venv/bin/python bench/production.py [--requests 400] [--concurrency 50] [--burst 200] [--delay 0.05] [--stores tinydb tables]

Every bot is a process of its own (one at a time, so each has the machine); this process is the
load. The stand-ins (bench/standins.py) are another process: a quiet Bot Connector and an
identity stand-in that adds ``--delay`` to every identity call. Chaperone reaches the stand-in
through its URL settings; the stock echo bot, unmodified, reaches "login.botframework.com" and
"login.microsoftonline.com" through an HTTPS CONNECT proxy and a test CA (HTTPS_PROXY,
REQUESTS_CA_BUNDLE). Tokens are RS256, signed by keys made here and served by the stand-in.

Part 1, /help (Chaperone) and a one-card echo, ``--requests`` at ``--concurrency``: activities/s,
p50/p99 and identity calls per turn after warm-up, local mode and with an app id.
Part 2, ``--burst`` concurrent /book submits (Chaperone, per store) beside the echo bot's answer to
the same number of concurrent messages: p50/p99 of the HTTP answer, and Chaperone's longest
event-loop stall during the burst. Azure Tables runs on Azurite (node_modules, scripts/bootstrap).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import azurite
from tests.support.forms import FORM, school_day
from tests.teams import activities as act
from tests.teams.identity_server import APP_ID, TENANT, IdentityServer, new_key

PY = sys.executable
#: With --pin (the default on two or more CPUs): the bot under test gets CPU 0 to itself and everything
#: else (this load process, the stand-ins, Azurite) the others, as in production where the table
#: service, the identity endpoints and the callers are other machines. Set in main().
BOT_CPUS: set[int] = set()
ECHO_BOT = r"""
import sys
from aiohttp import web
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

class Config:
    APP_ID = sys.argv[2]
    APP_PASSWORD = "bench-secret" if sys.argv[2] else ""
    APP_TYPE = "SingleTenant" if sys.argv[2] else "MultiTenant"
    APP_TENANTID = sys.argv[3]

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(lat: list[float], q: float) -> float:
    return lat[min(len(lat) - 1, int(q * len(lat)))]


@dataclass
class Result:
    name: str
    rate: float
    p50: float
    p99: float
    identity_per_turn: float | None = None
    stall: float | None = None
    stall_cpu: float | None = None
    stall_gc: float | None = None
    calls: dict[str, float] | None = (
        None  # store calls per submit: by turns in the burst, and all (with the outbox) once it settled
    )


class Proc:
    """A bot process on a free port; waits until it answers."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **env, "PORT": str(self.port)}
        self.log = tempfile.NamedTemporaryFile(prefix="bench-bot-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [a.replace("{port}", str(self.port)) for a in argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            preexec_fn=(lambda: os.sched_setaffinity(0, BOT_CPUS)) if BOT_CPUS else None,
        )

    async def ready(self) -> None:
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                async with aiohttp.ClientSession() as s, s.get(f"{self.url}/healthz") as r:
                    await r.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        raise RuntimeError("bot did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def connected(url: str, n: int) -> aiohttp.ClientSession:
    """A client session holding ``n`` open keep-alive connections to the bot (as the Bot Framework
    front end keeps its connections open): a burst then measures turns, not TCP accepts."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=n, keepalive_timeout=60))

    async def touch() -> None:
        async with http.get(f"{url}/healthz") as r:
            await r.read()

    await asyncio.gather(*(touch() for _ in range(n)))
    return http


async def load(
    url: str,
    make: Callable[[int], dict[str, Any]],
    n: int,
    concurrency: int,
    headers: dict[str, str],
    session: aiohttp.ClientSession | None = None,
) -> tuple[float, list[float]]:
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    async with session or aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def one(i: int) -> None:
            async with sem:
                t0 = time.perf_counter()
                async with http.post(f"{url}/api/messages", json=make(i), headers=headers) as r:
                    await r.read()
                    assert r.status in (200, 201), r.status
                lat.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0), sorted(lat)


class Bench:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.work = Path(tempfile.mkdtemp(prefix="chaperone-prod-bench-"))
        self.idp = IdentityServer(channel_key=new_key(), tenant_key=new_key())
        for name, key in (("channel", self.idp.channel_key), ("tenant", self.idp.tenant_key)):
            (self.work / f"{name}.pem").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        self.standins = subprocess.Popen(
            [PY, str(ROOT / "bench" / "standins.py"), str(self.work), "--delay", str(a.delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.standins.stdout is not None
        self.urls = json.loads(self.standins.stdout.readline())
        self.connector = self.urls["connector"]
        self.token = self.idp.mint(service_url=self.connector, lifetime=6 * 3600)

    def close(self) -> None:
        self.standins.terminate()
        self.standins.wait()

    async def identity_calls(self) -> int:
        async with aiohttp.ClientSession() as s, s.get(f"{self.urls['identity']}/_stats") as r:
            return sum((await r.json()).values())

    def echo(self, production: bool) -> Proc:
        env = (
            {
                "HTTPS_PROXY": self.urls["proxy"],
                "https_proxy": self.urls["proxy"],
                "REQUESTS_CA_BUNDLE": self.urls["ca"],
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
            }
            if production
            else {}
        )
        return Proc([PY, "-c", ECHO_BOT, "{port}", APP_ID if production else "", TENANT if production else ""], env)

    def chaperone(self, production: bool, store: str = "tinydb", tables: str = "") -> Proc:
        data = Path(tempfile.mkdtemp(dir=self.work, prefix="data-"))
        env = {
            "CHAPERONE_DATA_DIR": str(data),
            "CHAPERONE_CONFIG": str(ROOT / "bot" / "example" / "chaperone.toml"),
            "CHAPERONE_MEETINGS": "local",
            "CHAPERONE_STORE": store,
        }
        if tables:
            env["CHAPERONE_TABLES_CONNECTION_STRING"] = tables
        for name in (
            "MICROSOFT_APP_ID",
            "MICROSOFT_APP_PASSWORD",
            "MICROSOFT_APP_TENANT_ID",
            "MICROSOFT_APP_TYPE",
            "CHAPERONE_LOCAL",
        ):
            env[name] = ""
        if production:
            env.update(
                {
                    "MICROSOFT_APP_ID": APP_ID,
                    "MICROSOFT_APP_PASSWORD": "bench-secret",
                    "MICROSOFT_APP_TENANT_ID": TENANT,
                    "CHAPERONE_BOTFRAMEWORK_OPENID_URL": self.urls["botframework_openid"],
                    "CHAPERONE_ENTRA_LOGIN_URL": self.urls["identity"],
                }
            )
        else:
            env["CHAPERONE_LOCAL"] = "1"
        return Proc([PY, str(ROOT / "bench" / "probe_bot.py")], env)

    def headers(self, production: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if production else {}

    async def throughput(self, name: str, proc: Proc, production: bool) -> Result:
        make = lambda i: act.message("/help", service_url=self.connector, user="tara")  # noqa: E731
        try:
            await proc.ready()
            await load(proc.url, make, 20, 10, self.headers(production))  # warm-up: keys, token, caches
            before = await self.identity_calls()
            rate, lat = await load(proc.url, make, self.a.requests, self.a.concurrency, self.headers(production))
            calls = (await self.identity_calls() - before) / self.a.requests
        finally:
            proc.stop()
        return Result(name, rate, statistics.median(lat), pct(lat, 0.99), calls if production else None)

    async def hanging(self) -> tuple[Result, Result, Result]:
        """Chaperone with an app id, warmed up, then every identity endpoint hangs: /healthz, turns
        with the token already seen, and turns with a new token signed by a known key."""
        proc = self.chaperone(True)
        make = lambda i: act.message("/help", service_url=self.connector, user="tara")  # noqa: E731
        n = max(100, self.a.requests // 4)
        try:
            await proc.ready()
            await load(proc.url, make, 20, 10, self.headers(True))
            async with aiohttp.ClientSession() as s, s.post(f"{self.urls['identity']}/_hang?on=1") as r:
                await r.read()
            healthz: list[float] = []
            async with aiohttp.ClientSession() as s:
                for _ in range(n):
                    t0 = time.perf_counter()
                    async with s.get(f"{proc.url}/healthz") as r:
                        await r.read()
                    healthz.append((time.perf_counter() - t0) * 1000)
            healthz.sort()
            seen = await load(proc.url, make, n, 10, self.headers(True))
            fresh_token = self.idp.mint(service_url=self.connector, lifetime=5 * 3600)
            fresh = await load(proc.url, make, n, 10, {"Authorization": f"Bearer {fresh_token}"})
        finally:
            async with aiohttp.ClientSession() as s, s.post(f"{self.urls['identity']}/_hang") as r:
                await r.read()
            proc.stop()
        return (
            Result("/healthz", 0.0, statistics.median(healthz), pct(healthz, 0.99)),
            Result("/help, token already seen", seen[0], statistics.median(seen[1]), pct(seen[1], 0.99)),
            Result("/help, new token, known key", fresh[0], statistics.median(fresh[1]), pct(fresh[1], 0.99)),
        )

    async def echo_burst(self) -> Result:
        proc = self.echo(False)
        try:
            await proc.ready()
            make = lambda i: act.message(f"hello {i}", service_url=self.connector, user="tara")  # noqa: E731
            await load(proc.url, make, 20, 10, {})
            rate, lat = await load(
                proc.url, make, self.a.burst, self.a.burst, {}, await connected(proc.url, self.a.burst)
            )
        finally:
            proc.stop()
        return Result(f"stock echo, {self.a.burst} concurrent messages", rate, statistics.median(lat), pct(lat, 0.99))

    async def booking_burst(self, store: str, tables: str = "") -> Result:
        proc = self.chaperone(False, store, tables)
        try:
            await proc.ready()
            async with aiohttp.ClientSession() as s:
                for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
                    async with s.post(
                        f"{proc.url}/api/messages",
                        json=act.message(
                            f"/setup {what}", service_url=self.connector, user="ivy", scope="channel", channel=channel
                        ),
                    ) as r:
                        assert r.status == 200

            def submit(i: int) -> dict[str, Any]:
                return act.submit(
                    {"verb": "book.submit", **FORM, "date": school_day()},
                    reply_to=f"form-{i}",
                    service_url=self.connector,
                )

            await load(proc.url, submit, 10, 5, {})  # warm-up
            await asyncio.sleep(1.0)  # let the warm-up's background posts finish
            pool = await connected(proc.url, self.a.burst)
            async with aiohttp.ClientSession() as s, s.get(f"{proc.url}/_stall?reset=1") as r:
                await r.read()
            rate, lat = await load(proc.url, lambda i: submit(1000 + i), self.a.burst, self.a.burst, {}, pool)
            async with aiohttp.ClientSession() as s, s.get(f"{proc.url}/_stall") as r:
                probe = await r.json()
                stall, stall_cpu, stall_gc = probe["longest_ms"], probe["longest_cpu_ms"], probe["longest_gc_ms"]
            turn = sum(n for k, n in probe["store_calls"].items() if k.startswith("turn "))
            booked = probe["store_calls"].get("turn insert sessions", 0)
            if booked != self.a.burst:  # a refusal is cheaper than a booking: the figures would flatter
                raise RuntimeError(f"{booked} of {self.a.burst} submits were booked: the figures would not be bookings")
            settled, total = probe["store_calls"], -1
            while sum(settled.values()) != total:  # until the outbox has finished the burst's jobs
                total = sum(settled.values())
                await asyncio.sleep(1.0)
                async with aiohttp.ClientSession() as s, s.get(f"{proc.url}/_stall") as r:
                    settled = (await r.json())["store_calls"]
            if self.a.calls:
                for k, n in sorted(settled.items()):
                    print(f"    {k:40} {n / self.a.burst:6.2f} per submit")
        finally:
            proc.stop()
        calls = {"turn": turn / self.a.burst, "all": sum(settled.values()) / self.a.burst}
        return Result(
            f"Chaperone {self.a.burst} /book submits, {store}",
            rate,
            statistics.median(lat),
            pct(lat, 0.99),
            stall=stall,
            stall_cpu=stall_cpu,
            stall_gc=stall_gc,
            calls=calls,
        )


async def main(a: argparse.Namespace) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if a.pin and len(cpus) >= 2:
        BOT_CPUS.add(cpus[0])
        os.sched_setaffinity(0, set(cpus[1:]))  # children (stand-ins, Azurite) inherit it
        print(f"CPUs: each bot on CPU {cpus[0]}; load, stand-ins and Azurite on {', '.join(map(str, cpus[1:]))}")
    else:
        print(f"CPUs: {len(cpus)}, shared by the bot, the load, the stand-ins and Azurite (no pinning)")
    b = Bench(a)
    try:
        if not a.skip_part1:
            await part1(a, b)
        if a.stores == ["none"]:
            return
        await part2(a, b)
    finally:
        b.close()


async def part1(a: argparse.Namespace, b: Bench) -> None:
    """/help throughput, local and with an app id, and with the identity endpoints hanging."""
    print(
        f"Part 1: /help vs one-card echo, {a.requests} requests at concurrency {a.concurrency}; identity stand-in adds {a.delay * 1000:.0f} ms per call"
    )
    r1 = [
        await b.throughput("stock echo bot, local", b.echo(False), False),
        await b.throughput("Chaperone /help, local", b.chaperone(False), False),
        await b.throughput("stock echo bot, app id", b.echo(True), True),
        await b.throughput("Chaperone /help, app id", b.chaperone(True), True),
    ]
    for r in r1:
        ident = f"   identity calls/turn {r.identity_per_turn:.2f}" if r.identity_per_turn is not None else ""
        print(f"  {r.name:28} {r.rate:8.1f} activities/s   p50 {r.p50:7.1f} ms   p99 {r.p99:7.1f} ms{ident}")
    echo_l, chap_l, echo_p, chap_p = r1
    print(f"  Chaperone local / echo local: {chap_l.rate / echo_l.rate:.1f}x (target >= 3x)")
    print(f"  Chaperone app id / echo app id: {chap_p.rate / echo_p.rate:.1f}x (target >= 15x)")
    print(f"  Chaperone app id / Chaperone local: {chap_p.rate / chap_l.rate:.2f} (target >= 0.80)")

    print("  identity endpoints hanging (Chaperone, app id, warmed up), concurrency 10:")
    for r in await b.hanging():
        rate = f"{r.rate:8.1f} activities/s" if r.rate else " " * 21
        print(f"    {r.name:30} {rate}   p50 {r.p50:7.1f} ms   p99 {r.p99:7.1f} ms")


async def part2(a: argparse.Namespace, b: Bench) -> None:
    """The morning rush on each store, beside the echo bot's answer to as many messages."""
    print(f"Part 2: the morning rush, {a.burst} at once")
    echo = await b.echo_burst()
    print(f"  {echo.name:44} p50 {echo.p50:7.1f} ms   p99 {echo.p99:7.1f} ms")
    for store in a.stores:
        if store == "tables":
            if not azurite.installed():
                print("  Azurite is not installed (scripts/bootstrap): tables skipped")
                continue
            with azurite.running(Path(tempfile.mkdtemp(prefix="azurite-"))) as port:
                r = await b.booking_burst(store, azurite.connection_string(port))
        else:
            r = await b.booking_burst(store, "")
        target = 0.5 if store == "tinydb" else 1.0
        print(
            f"  {r.name:44} p50 {r.p50:7.1f} ms   p99 {r.p99:7.1f} ms   p99 {r.p99 / echo.p99:.2f}x echo's (target <= {target}x)"
        )
        print(
            f"  {'':44} longest event-loop stall {r.stall:.1f} ms wall, {r.stall_cpu:.1f} ms of loop-thread CPU (target < 20); the collector ran {r.stall_gc:.1f} ms of the longest"
        )
        assert r.calls is not None
        print(
            f"  {'':44} store calls per submit: {r.calls['turn']:.2f} in the turn, {r.calls['all']:.2f} with the outbox's jobs"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument(
        "--stores", nargs="+", default=["tinydb", "tables"], help="stores for the rush; none to skip part 2"
    )
    ap.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=True, help="give the bot a CPU of its own (default)"
    )
    ap.add_argument("--skip-part1", action="store_true", help="only the morning rush (part 2)")
    ap.add_argument("--calls", action="store_true", help="list the rush's store calls per submit by kind and table")
    asyncio.run(main(ap.parse_args()))
