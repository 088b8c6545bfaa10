"""No blocking call on the event loop in a turn (issue 13 item 2): whole turns with an app id run
under asyncio debug mode and any slow callback fails the test.

The identity stand-in and the Bot Connector run in a thread of their own with their own loop, and
every identity and connector call takes 0.8 s there: a blocking identity or connector call in a
turn would hold this loop at least that long and be reported by asyncio as a slow callback (instead of deadlocking).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from tests.support.bot import CONFIG, Bot
from tests.support.forms import CSV, FORM
from tests.support.people import NOW
from tests.support.schemas import card_text
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.connector import FakeConnector
from tests.teams.identity_server import APP_ID, TENANT, IdentityServer

SLOW = 0.4  # seconds: far above a turn step's CPU work (or a preempted one on a busy machine), half of one remote call
REMOTE_DELAY = 0.8  # every identity and Bot Connector call, elsewhere


class Elsewhere:
    """aiohttp apps served from a thread with its own event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def serve(self, app: web.Application) -> str:
        runner, url = asyncio.run_coroutine_threadsafe(serve(app), self.loop).result(10)
        self.runners.append(runner)
        return url

    def close(self) -> None:
        for runner in self.runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    e = Elsewhere()
    yield e
    e.close()


@pytest.fixture
async def debug_bot(
    tmp_path: Path, elsewhere: Elsewhere, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[Bot, FakeConnector, IdentityServer]]:
    idp = IdentityServer(delay=REMOTE_DELAY)
    idp.url = elsewhere.serve(idp.app())
    connector = FakeConnector()
    app = connector.app()

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(REMOTE_DELAY)
        response: web.StreamResponse = await handler(request)
        return response

    app.middlewares.append(slow)
    connector.url = elsewhere.serve(app)
    config = tmp_path / "chaperone.toml"
    config.write_text(CONFIG.format(profile="000-two-staff"), encoding="utf-8")
    settings = Settings(
        app_id=APP_ID,
        app_password="not-a-real-secret",
        app_tenant_id=TENANT,
        local=False,
        config_path=config,
        data_dir=tmp_path / "data",
        botframework_openid_url=idp.botframework_openid_url,
        entra_login_url=idp.url,
        identity_timeout=5.0,
    )
    app = create_app(settings, clock=FixedClock(NOW), background=False)
    await ConsentRegistry(app[SERVICES].store).import_records(parse_csv(CSV))
    runner, url = await serve(app)
    async with aiohttp.ClientSession() as session:
        yield Bot(url, app, session), connector, idp
    await runner.cleanup()


async def test_turns_never_block_the_event_loop(
    debug_bot: tuple[Bot, FakeConnector, IdentityServer], caplog: pytest.LogCaptureFixture
) -> None:
    bot, connector, idp = debug_bot
    loop = asyncio.get_running_loop()
    gc.collect()
    gc.freeze()  # as production does after start-up (bot.app.freeze_heap): no full collection of the test process's heap
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW
    headers = {"Authorization": f"Bearer {idp.mint(service_url=connector.url)}"}

    async def post(activity: dict[str, Any]) -> int:
        status, _ = await bot.post(activity, headers=headers)
        return status

    try:
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            # cold: the first turn waits for the keys and the bot's token (elsewhere)
            assert (
                await post(
                    act.message(
                        "/setup safeguarding",
                        service_url=connector.url,
                        user="ivy",
                        scope="channel",
                        channel=act.SAFEGUARDING,
                    )
                )
                == 200
            )
            assert await post(act.message("/book", service_url=connector.url)) == 200
            form = connector.posts("a:personal-29:tara")[-1]
            assert (
                await post(
                    act.submit({"verb": "book.submit", **FORM}, reply_to=form.activity_id, service_url=connector.url)
                )
                == 200
            )
            await bot.services.tasks.drain()
            statuses = await asyncio.gather(
                *(
                    post(act.message("/help", service_url=connector.url, user=u))
                    for u in ("tara", "sam", "dee", "oli") * 5
                )
            )
            assert statuses == [200] * 20
            assert "What you can do" in card_text(connector.cards()[-1])
    finally:
        loop.set_debug(False)
        gc.unfreeze()
    assert idp.total > 0  # the identity calls happened, off this loop's critical path
    slow = [r.getMessage() for r in caplog.records if r.name == "asyncio" and "took" in r.getMessage()]
    assert slow == []
