"""HTTP-level fixtures: the real aiohttp app and CloudAdapter on a loopback port, talking to a
loopback Bot Connector (tests.teams.connector).

    async def test_x(bot, connector):
        status, body = await bot.post(activities.message("/help", service_url=connector.url))
        card = connector.cards()[-1]
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from tests.commands.conftest import CSV
from tests.support.serve import serve
from tests.teams.connector import FakeConnector
from tests.teams.identity_server import IdentityServer

TENANT = "00000000-0000-0000-0000-0000000000001"
NOW = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
CONFIG = """
[school]
name = "Oakfield Primary (example)"
tenant_id = "00000000-0000-0000-0000-0000000000001"
profile = "{profile}"
staff_domains = ["example.org"]
pupil_domains = ["pupils.example.org"]

[roles]
admin = ["ivy.admin@example.org"]
slt = ["sam.senior@example.org", "aad-dee"]
dsl = ["dee.lead@example.org"]
"""




@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    runner, url = await serve(fake.app())
    fake.url = url
    yield fake
    await runner.cleanup()


@dataclass
class Bot:
    url: str
    app: web.Application
    session: aiohttp.ClientSession

    @property
    def services(self) -> Any:
        return self.app[SERVICES]

    async def post(self, activity: dict[str, Any], *, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.post(f"{self.url}/api/messages", json=activity, headers=headers or {}) as r:
            text = await r.text()
            try:
                return r.status, (await r.json(content_type=None)) if text else None
            except ValueError:
                return r.status, text


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


@pytest.fixture
def app_id() -> str:
    return ""


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
async def bot(tmp_path: Path, profile_id: str, app_id: str, idp: IdentityServer, identity_timeout: float) -> AsyncIterator[Bot]:
    config = tmp_path / "chaperone.toml"
    config.write_text(CONFIG.format(profile=profile_id), encoding="utf-8")
    settings = Settings(
        app_id=app_id, app_password="not-a-real-secret" if app_id else "", app_tenant_id=TENANT if app_id else "", local=not app_id,
        config_path=config, data_dir=tmp_path / "data",
        botframework_openid_url=idp.botframework_openid_url, entra_login_url=idp.url, identity_timeout=identity_timeout,
    )
    app = create_app(settings, clock=FixedClock(NOW), background=False)
    app[SERVICES].meeting_retry_delays = (0.01, 0.01)
    await ConsentRegistry(app[SERVICES].store).import_records(parse_csv(CSV))
    runner, url = await serve(app)
    async with aiohttp.ClientSession() as session:
        yield Bot(url, app, session)
    await runner.cleanup()
