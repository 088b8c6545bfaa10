"""Crash test of the bot's write paths: kill the real bot process at each durable write of a user
action, restart it, repeat the user's retry, and check the outcome is as if it ran once.

    .venv/bin/python bench/crash_flows.py [--flows book,accept,end,concern] [--every 1] [--jobs 2]

For each flow the store is prepared in-process (channels set up, consents imported, the form
posted, or the session booked / scheduled), then for N = 1, 2, ... the bot (`python -m bot serve`)
runs under ``strace -f -e inject=fsync:signal=SIGKILL:when=N``, so it dies at its N-th fsync (a
store write being made durable) without any change to the code. The user's action is sent; when
the bot died it is started again normally, the same activity is sent again (the user's retry),
and the outbox is left to finish (/healthz shows nothing due). Then: exactly one record, at most
one meeting, one register card and (while waiting) one request card, each showing the record's
current state, and one concern alert. Rounds go on until a run finishes without being killed.
Prints per-flow counts; exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHAPERONE_LOCAL", "1")  # the bot under test runs locally: no tenant, loopback only

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.sessions import cards as views
from bot.sessions.model import State
from bot.store.tiny import TinyStore
from tests.commands.conftest import CSV, FORM
from tests.commands.test_end_and_concern import CONCERN, END
from tests.support.forms import school_day
from tests.support.schemas import card_text
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.conftest import CONFIG
from tests.teams.connector import FakeConnector, Sent

STRACE = shutil.which("strace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(card: dict[str, Any] | None) -> str:
    for a in (card or {}).get("actions") or []:
        if isinstance(a.get("data"), dict) and a["data"].get("token"):
            return str(a["data"]["token"])
    raise AssertionError("the form has no token")


class Prepared:
    """A data folder in the state just before the user's action, and the action itself."""

    def __init__(self, folder: Path, config: Path, activity: dict[str, Any], connector_sent: list[Sent]) -> None:
        self.folder, self.config, self.activity, self.connector_sent = folder, config, activity, connector_sent


async def prepare(flow: str, work: Path) -> Prepared:
    work.mkdir(parents=True, exist_ok=True)
    config = work / "chaperone.toml"
    config.write_text(CONFIG.format(profile="000-two-staff"), encoding="utf-8")
    data = work / "data"
    connector = FakeConnector()
    crun, connector.url = await serve(connector.app())
    app = create_app(Settings(config_path=config, data_dir=data), clock=FixedClock(datetime.now(UTC)), background=False)
    services = app[SERVICES]
    runner, url = await serve(app)
    form = {**FORM, "date": school_day()}
    async with aiohttp.ClientSession() as http:

        async def post(activity: dict[str, Any]) -> None:
            async with http.post(f"{url}/api/messages", json=activity) as r:
                assert r.status == 200, await r.text()

        await ConsentRegistry(services.store).import_records(parse_csv(CSV))
        for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
            await post(
                act.message(f"/setup {what}", service_url=connector.url, user="ivy", scope="channel", channel=channel)
            )
        if flow == "concern":
            await post(act.message("/concern", service_url=connector.url))
            card = connector.posts("a:personal-29:tara")[-1]
            activity = act.submit(
                {"verb": "concern.submit", **CONCERN, "token": _token(card.card)},
                reply_to=card.activity_id,
                service_url=connector.url,
            )
        else:
            await post(act.message("/book", service_url=connector.url))
            card = connector.posts("a:personal-29:tara")[-1]
            activity = act.submit(
                {"verb": "book.submit", **form, "token": _token(card.card)},
                reply_to=card.activity_id,
                service_url=connector.url,
            )
            if flow != "book":
                await post(activity)
                await services.tasks.drain()
                [s] = await services.sessions.all()
                request = [p for p in connector.channel_posts(act.SLT)][-1]
                activity = act.accept(s.ref, reply_to=request.activity_id, service_url=connector.url)
                if flow == "end":
                    await post(activity)
                    await services.tasks.drain()
                    # the session took place yesterday morning (moved in the record: the bot runs on the real
                    # clock); a fixed time of day in the school's zone, so no run near midnight crosses a day
                    zone = ZoneInfo(services.timezone)
                    yesterday = datetime.now(zone).date() - timedelta(days=1)
                    start = datetime.combine(yesterday, time(10, 0), tzinfo=zone)
                    rec = await services.store.get("sessions", s.ref)
                    assert rec is not None and rec.doc["state"] == "scheduled"
                    doc = json.loads(json.dumps(rec.doc))
                    doc["booking"]["start"] = start.isoformat()
                    doc["jobs"] = [j for j in doc["jobs"] if j["done_at"]]  # timers of the old date
                    doc["pending"] = False
                    await services.store.replace("sessions", s.ref, doc, etag=rec.etag)
                    await post(act.message(f"/end {s.ref}", service_url=connector.url))
                    card = connector.posts("a:personal-29:tara")[-1]
                    activity = act.submit(
                        {
                            "verb": "end.submit",
                            "ref": s.ref,
                            **END,
                            "actual_start": f"{start:%H:%M}",
                            "actual_end": f"{start + timedelta(minutes=20):%H:%M}",
                            "token": _token(card.card),
                        },
                        reply_to=card.activity_id,
                        service_url=connector.url,
                    )
        await services.tasks.drain()
    await runner.cleanup()
    await crun.cleanup()
    return Prepared(data, config, activity, list(connector.sent))


class BotProcess:
    def __init__(self, prep: Prepared, folder: Path, *, kill_at: int | None) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "CHAPERONE_DATA_DIR": str(folder),
            "CHAPERONE_CONFIG": str(prep.config),
            "PORT": str(self.port),
            "CHAPERONE_MEETINGS": "local",
            "CHAPERONE_LOCAL": "1",
        }
        env.pop("MICROSOFT_APP_ID", None)
        cmd = [sys.executable, "-m", "bot", "serve"]
        if kill_at is not None:
            assert STRACE, "strace is not installed: run scripts/bootstrap"
            cmd = [
                STRACE,
                "-f",
                "-qq",
                "-o",
                os.devnull,
                "-e",
                "trace=fsync",
                "-e",
                f"inject=fsync:signal=SIGKILL:when={kill_at}",
                *cmd,
            ]
        self.cmd, self.env = cmd, env
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, http: aiohttp.ClientSession) -> bool:
        """Start and wait until /healthz answers; False if the process died first."""
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd,
            env=self.env,
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends strace and the bot it traces
        )
        return await self.wait_until(http, lambda body: True)

    async def wait_until(self, http: aiohttp.ClientSession, ready: Any, *, limit: float = 60.0) -> bool:
        """Poll /healthz until ``ready(body)``; False when the process has died (killed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        assert self.proc is not None
        while loop.time() < deadline:
            if self.proc.returncode is not None:
                return False
            try:
                async with http.get(f"{self.url}/healthz") as r:
                    if r.status == 200 and ready(await r.json()):
                        return True
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.05)  # polling another process's readiness
        raise AssertionError("the bot did not become ready")

    async def send(self, http: aiohttp.ClientSession, activity: dict[str, Any]) -> bool:
        try:
            async with http.post(f"{self.url}/api/messages", json=activity) as r:
                await r.read()
                return r.status == 200
        except (aiohttp.ClientError, OSError):
            return False

    async def settle(self, http: aiohttp.ClientSession) -> bool:
        return await self.wait_until(http, lambda body: body["outbox"]["due"] == 0)

    async def stop(self) -> None:
        """Killed, not stopped: everything it acknowledged is durable, and a kill is what we test."""
        if self.proc is None:
            return
        try:  # the whole group: killing strace alone would leave the traced bot running, detached
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await self.proc.wait()


def _shown(card: dict[str, Any] | None) -> list[str]:
    """A card's text, each fact on its own (the meeting settings' order follows the stored document's key order)."""
    return sorted(part for line in card_text(card or {}).splitlines() for part in line.split("; "))


def _latest(sent: list[Sent], activity_id: str) -> dict[str, Any] | None:
    card = None
    for s in sent:
        if s.activity_id == activity_id and s.card is not None:
            card = s.card
    return card


async def check(flow: str, folder: Path, connector: FakeConnector, before: list[Sent]) -> list[str]:
    problems: list[str] = []
    sent = [*before, *connector.sent]
    store = TinyStore(folder)
    try:
        from bot.concerns.repo import Concerns
        from bot.config import load_school_config
        from bot.services import profile_for
        from bot.sessions.repo import Sessions

        if flow == "concern":
            concerns = await Concerns(store).all()
            if len(concerns) != 1:
                return [f"{len(concerns)} concerns"]
            [c] = concerns
            alerts = [s for s in connector.channel_posts(act.SAFEGUARDING) if c.ref in card_text(s.card or {})]
            if len(alerts) != 1:
                problems.append(f"{len(alerts)} alerts for {c.ref}")
            if not c.alert_posted:
                problems.append("alert not recorded as posted")
            return problems
        sessions = await Sessions(store).all()
        if len(sessions) != 1:
            return [f"{len(sessions)} sessions"]
        [s] = sessions
        meetings = await store.query("meetings")
        want_meeting = s.state in (State.SCHEDULED, State.ENDED)
        if len(meetings) != (1 if want_meeting else 0):
            problems.append(f"{len(meetings)} meetings, state {s.state.value}")
        school = load_school_config(Path(str(folder.parent / "chaperone.toml")))
        profile = profile_for(school)
        tz = school.school.timezone or profile.timezone
        registers = [
            p
            for p in [*before, *connector.sent]
            if p.method == "POST" and p.card and card_text(p.card).startswith(f"Register · {s.ref}")
        ]
        if len(registers) != 1 or s.register_card is None:
            problems.append(f"{len(registers)} register cards")
        elif _shown(_latest(sent, s.register_card.activity_id)) != _shown(views.register_card(s, profile, tz)):
            problems.append(f"register card does not show the state {s.state.value}")
        requests = [
            p
            for p in sent
            if p.method == "POST" and p.card and card_text(p.card).startswith(f"Second adult needed · {s.ref}")
        ]
        if len(requests) != 1 or s.request_card is None:
            problems.append(f"{len(requests)} request cards")
        elif _shown(_latest(sent, s.request_card.activity_id)) != _shown(views.request_card(s, tz)):
            problems.append("request card does not show the state")
        if s.pending and any(j.due_at <= datetime.now(UTC) for j in s.undone()):
            problems.append("jobs still due")
    finally:
        await store.close()
    return problems


async def one_round(flow: str, prep: Prepared, work: Path, kill_at: int | None) -> tuple[bool, list[str]]:
    """Returns (the bot was killed, problems)."""
    folder = work / f"r{kill_at}"
    shutil.copytree(prep.folder, folder / "data")
    shutil.copy(prep.config, folder / "chaperone.toml")
    connector = FakeConnector(_ids=itertools.count(5000))  # ids apart from the preparation's
    crun, connector.url = await serve(connector.app())
    activity = json.loads(json.dumps(prep.activity).replace(prep.activity["serviceUrl"], connector.url))
    store = TinyStore(folder / "data")  # this round's connector listens elsewhere: point the stored references at it
    for rec in await store.query("conversations"):
        await store.upsert("conversations", rec.key, {**rec.doc, "service_url": connector.url})
    await store.close()
    before = [s for s in prep.connector_sent]
    killed = False
    async with aiohttp.ClientSession() as http:
        bot = BotProcess(prep, folder / "data", kill_at=kill_at)
        try:
            alive = await bot.start(http)
            if alive:
                await bot.send(http, activity)
                alive = await bot.settle(http)
            killed = not alive
            if bot.proc is not None:
                await bot.proc.wait() if killed else await bot.stop()
            again = BotProcess(prep, folder / "data", kill_at=None)
            assert await again.start(http), "the bot did not start again"
            try:
                await again.send(http, activity)  # the user's retry (a repeated click does the same)
                assert await again.settle(http)
            finally:
                await again.stop()
        finally:
            await bot.stop()
    # card contents are compared against each other in `check`: keep the original service URL out of it
    problems = await check(flow, folder / "data", connector, before)
    await crun.cleanup()
    return killed, problems


async def run_flow(flow: str, every: int, jobs: int, limit: int) -> tuple[int, int, list[str]]:
    with tempfile.TemporaryDirectory(prefix=f"chaperone-crash-{flow}-") as tmp:
        work = Path(tmp)
        prep = await prepare(flow, work / "prep")
        rounds = kills = 0
        problems: list[str] = []
        n = 1
        slots = asyncio.Semaphore(jobs)
        done = False

        async def go(k: int) -> tuple[int, bool, list[str]]:
            async with slots:
                killed, found = await one_round(flow, prep, work, k)
                return k, killed, found

        while not done and n <= limit:
            batch = [n + i * every for i in range(jobs)]
            n = batch[-1] + every
            for k, killed, found in await asyncio.gather(*(go(k) for k in batch)):
                rounds += 1
                kills += killed
                problems += [f"{flow} kill at fsync {k}: {p}" for p in found]
                if not killed:
                    done = True
        return rounds, kills, problems


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", default="book,accept,end,concern")
    parser.add_argument("--every", type=int, default=1, help="kill at every k-th fsync (1: every one)")
    parser.add_argument("--jobs", type=int, default=2, help="rounds run at once")
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    if not STRACE:
        print("strace is not installed: run scripts/bootstrap (apt-get install strace)", file=sys.stderr)
        return 1
    total_problems: list[str] = []
    for flow in args.flows.split(","):
        rounds, kills, problems = await run_flow(flow, args.every, args.jobs, args.limit)
        print(f"{flow}: {rounds} rounds, {kills} killed at a durable write, {len(problems)} with a problem", flush=True)
        total_problems += problems
    for p in total_problems:
        print("  " + p)
    print(f"{len(total_problems)} problems")
    return 1 if total_problems else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
