"""The suite's shared fixtures (registered for every test by tests/conftest.py).

harness     router-level: the real router, commands, store and local meetings, a recording Messenger
connector   a loopback Bot Connector (tests/teams/connector.py)
bot         the real aiohttp app and CloudAdapter on a loopback port, talking to ``connector``
profile_id  the bundled policy profile (override in a module or parametrize)
app_id      the bot's app id; empty is local mode, else it authenticates against ``idp``
idp         the loopback identity stand-in (OpenID metadata, key sets, token endpoint)
azurite     a connection string to Azurite's table service (one per test session)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.azurite import azurite
from tests.support.bot import Bot, start_bot
from tests.support.harness import Harness, start_harness
from tests.support.serve import serve
from tests.teams.connector import FakeConnector
from tests.teams.identity_server import IdentityServer

__all__ = ["azurite"]


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


@pytest.fixture
def app_id() -> str:
    return ""


@pytest.fixture
async def harness(tmp_path: Path, profile_id: str) -> AsyncIterator[Harness]:
    async with start_harness(tmp_path / "data", profile_id) as h:
        yield h


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    runner, url = await serve(fake.app())
    fake.url = url
    yield fake
    await runner.cleanup()


@pytest.fixture
def identity_hangs() -> bool:
    return False


@pytest.fixture
async def idp(identity_hangs: bool) -> AsyncIterator[IdentityServer]:
    """The loopback identity stand-in (OpenID metadata, key sets, token endpoint); hanging from
    the start when ``identity_hangs``."""
    server = IdentityServer(hang=asyncio.Event() if identity_hangs else None)
    runner, server.url = await serve(server.app())
    yield server
    if server.hang is not None:
        server.hang.set()
    await runner.cleanup()


@pytest.fixture
def identity_timeout() -> float:
    return 5.0


@pytest.fixture
async def bot(
    tmp_path: Path, profile_id: str, app_id: str, idp: IdentityServer, identity_timeout: float
) -> AsyncIterator[Bot]:
    async with start_bot(
        tmp_path, profile_id=profile_id, app_id=app_id, idp=idp, identity_timeout=identity_timeout
    ) as b:
        yield b
