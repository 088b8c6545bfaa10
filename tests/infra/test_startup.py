"""The template's exact startup command (gunicorn + aiohttp's worker, read out of
infra/azuredeploy.json) started here in local mode on a free port: /healthz answers, /book renders
its card through the loopback Bot Connector, and SIGTERM lets background work in flight finish."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.consent import ConsentRegistry, parse_csv
from bot.store.tiny import TinyStore
from tests.infra.arm import TEMPLATE, load
from tests.support.bot import CONFIG
from tests.support.forms import CSV, FORM, school_day
from tests.support.schemas import card_text
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

VENV_BIN = Path(sys.executable).parent


def startup_command() -> str:
    [site] = [r for r in load(TEMPLATE)["resources"] if r["type"] == "Microsoft.Web/sites"]
    command: str = site["properties"]["siteConfig"]["appCommandLine"]
    return command


class GatedConnector(FakeConnector):
    """The loopback Bot Connector, able to hold new channel posts until the test lets them through."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.arrived = asyncio.Event()
        self.gate = asyncio.Event()

    async def _create(self, request: web.Request) -> web.Response:
        if self.hold:
            self.arrived.set()
            await self.gate.wait()
        return await super()._create(request)


class Gunicorn:
    """The startup command as a process, its log read line by line as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._waiters: list[tuple[re.Pattern[str], asyncio.Future[re.Match[str]]]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            for pattern, future in list(self._waiters):
                if (m := pattern.search(line)) and not future.done():
                    future.set_result(m)
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(AssertionError("gunicorn exited; its log:\n" + "\n".join(self.lines[-40:])))

    async def wait_for(self, pattern: str) -> re.Match[str]:
        for line in self.lines:
            if m := re.search(pattern, line):
                return m
        future: asyncio.Future[re.Match[str]] = asyncio.get_running_loop().create_future()
        self._waiters.append((re.compile(pattern), future))
        if self.reader.done():
            raise AssertionError("gunicorn exited; its log:\n" + "\n".join(self.lines[-40:]))
        return await asyncio.wait_for(future, timeout=60)  # a safety net, not a timing assertion


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def connector() -> AsyncIterator[GatedConnector]:
    fake = GatedConnector()
    runner, url = await serve(fake.app())
    fake.url = url
    yield fake
    fake.gate.set()
    await runner.cleanup()


@pytest.fixture
async def gunicorn(tmp_path: Path) -> AsyncIterator[tuple[Gunicorn, str]]:
    data = tmp_path / "data"
    store = TinyStore(data)
    await ConsentRegistry(store).import_records(parse_csv(CSV))
    await store.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHAPERONE_", "MICROSOFT_", "AZURE_", "IDENTITY_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PORT": str(port),
            "MICROSOFT_APP_ID": "",
            "CHAPERONE_LOCAL": "1",
            "CHAPERONE_DATA_DIR": str(data),
            "CHAPERONE_MEETINGS": "local",
            "CHAPERONE_CONFIG_TOML": CONFIG.format(profile="000-two-staff"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    proc = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        startup_command(),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    g = Gunicorn(proc)
    try:
        await g.wait_for(r"Chaperone starting under gunicorn")
        yield g, f"http://127.0.0.1:{port}"
    finally:
        if proc.returncode is None:
            master = await g.wait_for(r"Listening at: \S+ \((\d+)\)")
            os.kill(int(master.group(1)), signal.SIGTERM)
        await g.reader
        await proc.wait()


async def _post(session: aiohttp.ClientSession, url: str, activity: dict[str, Any]) -> int:
    async with session.post(f"{url}/api/messages", json=activity) as r:
        await r.read()
        return r.status


def test_the_startup_command_is_the_documented_one() -> None:
    command = startup_command()
    assert command.startswith("gunicorn bot.wsgi:app --worker-class aiohttp.GunicornWebWorker ")
    assert "--bind 0.0.0.0:${PORT:-8000}" in command
    doc = " ".join(
        (Path(__file__).resolve().parents[2] / "bot" / "wsgi.py").read_text(encoding="utf-8").replace("\\", " ").split()
    )
    assert " ".join(command.split()) in doc


async def test_healthz_and_a_book_card_from_the_startup_command(
    gunicorn: tuple[Gunicorn, str], connector: GatedConnector
) -> None:
    g, url = gunicorn
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/healthz") as r:
            body = await r.json()
            assert r.status == 200 and body["status"] == "ok" and body["profile"] == "000-two-staff"
            assert body["outbox"] == {"jobs": 0, "due": 0, "failing": 0, "oldest_failing": None}
        assert await _post(session, url, act.message("/book", service_url=connector.url)) == 200
    assert "Book a session" in card_text(connector.cards("a:personal-29:tara")[-1])
    assert any("Booting worker" in line for line in g.lines)


async def test_sigterm_lets_background_work_finish(gunicorn: tuple[Gunicorn, str], connector: GatedConnector) -> None:
    g, url = gunicorn
    async with aiohttp.ClientSession() as session:
        for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
            assert (
                await _post(
                    session,
                    url,
                    act.message(
                        f"/setup {what}", service_url=connector.url, user="ivy", scope="channel", channel=channel
                    ),
                )
                == 200
            )
        assert await _post(session, url, act.message("/book", service_url=connector.url)) == 200
        form = connector.posts("a:personal-29:tara")[-1]
        connector.hold = True  # the channel posts that follow the booking wait at the connector
        submit = act.submit(
            {"verb": "book.submit", **FORM, "date": school_day()},
            reply_to=form.activity_id,
            service_url=connector.url,
        )
        assert await _post(session, url, submit) == 200
    await connector.arrived.wait()  # background work is in flight, blocked on Teams

    master = await g.wait_for(r"Listening at: \S+ \((\d+)\)")
    os.kill(int(master.group(1)), signal.SIGTERM)
    await g.wait_for(r"Chaperone stopping: finishing background work")
    assert connector.channel_posts(act.SAFEGUARDING) == []  # still held
    connector.gate.set()
    await g.reader
    assert await g.proc.wait() == 0
    [register] = connector.channel_posts(act.SAFEGUARDING)
    assert register.card is not None and "P.E., Q.E." in card_text(register.card)
    assert not any("Traceback" in line or "CancelledError" in line for line in g.lines), "\n".join(g.lines)
