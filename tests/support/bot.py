"""HTTP-level harness: the real aiohttp app and CloudAdapter on a loopback port, talking to a loopback
Bot Connector (tests/teams/connector.py), plus the flows many tests start with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.services import Services
from tests.support.forms import CSV, FORM
from tests.support.people import NOW
from tests.support.schemas import card_text
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.connector import FakeConnector
from tests.teams.identity_server import IdentityServer

TENANT = "00000000-0000-0000-0000-0000000000001"

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
head = ["aad-hana"]
chair = ["aad-chris"]
"""


@dataclass
class Bot:
    url: str
    app: web.Application
    session: aiohttp.ClientSession

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def post(self, activity: dict[str, Any], *, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.post(f"{self.url}/api/messages", json=activity, headers=headers or {}) as r:
            text = await r.text()
            try:
                return r.status, (await r.json(content_type=None)) if text else None
            except ValueError:
                return r.status, text


@asynccontextmanager
async def start_bot(
    tmp_path: Path,
    *,
    profile_id: str = "000-two-staff",
    app_id: str = "",
    background: bool = False,
    idp: IdentityServer | None = None,
    identity_timeout: float = 5.0,
) -> AsyncIterator[Bot]:
    """The app on a free loopback port with the example school (under ``profile_id``) and three pupils' consents.
    With an ``app_id`` it authenticates against ``idp``, the loopback identity stand-in."""
    config = tmp_path / "chaperone.toml"
    config.write_text(CONFIG.format(profile=profile_id), encoding="utf-8")
    identity = (
        {"botframework_openid_url": idp.botframework_openid_url, "entra_login_url": idp.url} if idp is not None else {}
    )
    settings = Settings(
        app_id=app_id,
        app_password="not-a-real-secret" if app_id else "",
        app_tenant_id=TENANT if app_id else "",
        local=not app_id,
        config_path=config,
        data_dir=tmp_path / "data",
        identity_timeout=identity_timeout,
        **identity,  # type: ignore[arg-type]
    )
    app = create_app(settings, clock=FixedClock(NOW), background=background)
    app[SERVICES].meeting_retry_delays = (0.01, 0.01)
    await ConsentRegistry(app[SERVICES].store).import_records(parse_csv(CSV))
    runner, url = await serve(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield Bot(url, app, session)
    finally:
        await runner.cleanup()


async def set_up_channels(bot: Bot, connector: FakeConnector) -> None:
    """An admin types /setup in the safeguarding and SLT channels."""
    for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
        status, _ = await bot.post(
            act.message(f"/setup {what}", service_url=connector.url, user="ivy", scope="channel", channel=channel)
        )
        assert status == 200
        assert "Chaperone is set up" in card_text(connector.cards(channel)[-1])


async def book(bot: Bot, connector: FakeConnector, form: dict[str, Any] = FORM) -> str:
    """/book in personal chat, submit the form; returns the form's (now the status card's) activity id."""
    await bot.post(act.message("/book", service_url=connector.url))
    form_post = connector.posts("a:personal-29:tara")[-1]
    assert "Book a session" in card_text(form_post.card)
    status, _ = await bot.post(
        act.submit({"verb": "book.submit", **form}, reply_to=form_post.activity_id, service_url=connector.url)
    )
    assert status == 200
    await bot.services.tasks.drain()  # the channel cards follow the answer
    return form_post.activity_id


async def only_session(bot: Bot) -> Any:
    [s] = await bot.services.sessions.all()
    return s


async def restarted(tmp_path: Path, *, meetings: Any = None, background: bool) -> tuple[Bot, Any]:
    """The bot on the data folder under ``tmp_path`` (what a restart sees), with its start-up hooks
    (resume_all when ``background``) run; the caller closes the session and cleans up the runner."""
    config = tmp_path / "chaperone.toml"
    config.write_text(CONFIG.format(profile="000-two-staff"), encoding="utf-8")
    settings = Settings(config_path=config, data_dir=tmp_path / "data")
    app = create_app(settings, clock=FixedClock(NOW), background=background, meetings=meetings)
    app[SERVICES].meeting_retry_delays = (0.01,)
    runner, url = await serve(app)
    return Bot(url, app, aiohttp.ClientSession()), runner
