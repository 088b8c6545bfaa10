"""Start the real Agents Playground (npm, installed by scripts/bootstrap) against the real bot.

The bot runs in this test's event loop on a free loopback port; the playground runs as a child
process from a temporary directory holding the project's .m365agentsplayground.yml, offline and
without a browser. If the playground is not installed the fixture fails: CI installs it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import SERVICES, create_app
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from tests.playground.client import Playground

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "node_modules" / ".bin" / "agentsplayground"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def chaperone(tmp_path: Path) -> AsyncIterator[tuple[web.Application, int]]:
    settings = Settings(config_path=ROOT / "bot" / "example" / "chaperone.toml", data_dir=tmp_path / "data")
    app = create_app(settings, background=False)
    app[SERVICES].meeting_retry_delays = (0.05, 0.05)
    await ConsentRegistry(app[SERVICES].store).import_records(
        parse_csv((ROOT / "bot" / "example" / "consents.csv").read_text())
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield app, port
    await runner.cleanup()


@pytest.fixture
async def playground(chaperone: tuple[web.Application, int], tmp_path: Path) -> AsyncIterator[Playground]:
    if not CLI.exists() or shutil.which("node") is None:
        pytest.fail("The Agents Playground is not installed: run scripts/bootstrap (needs node and npm).")
    _, bot_port = chaperone
    work = tmp_path / "playground"
    work.mkdir()
    shutil.copy(ROOT / ".m365agentsplayground.yml", work / ".m365agentsplayground.yml")
    env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none"}
    proc = await asyncio.create_subprocess_exec(
        str(CLI),
        "start",
        "-e",
        f"http://127.0.0.1:{bot_port}/api/messages",
        "-c",
        "msteams",
        "-p",
        str(free_port()),
        "--disable-telemetry",
        cwd=work,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    port = None
    output = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            while port is None:
                line = (await proc.stdout.readline()).decode(errors="replace")
                if not line:
                    raise AssertionError("the playground exited:\n" + "".join(output))
                output.append(line)
                if m := re.search(r"Listening on (\d+)", line):
                    port = int(m.group(1))
        drain = asyncio.create_task(_drain(proc.stdout))
        pg = Playground(f"http://127.0.0.1:{port}")
        await pg.start()
        yield pg
        await pg.close()
        drain.cancel()
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
