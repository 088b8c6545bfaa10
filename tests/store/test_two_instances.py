"""Two bot instances sharing one Azure table store (Azurite): concurrent accepts of one second-adult
request give exactly one winner, and the register card is posted once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.sessions.model import State
from bot.store.tables import AzureTableStore
from tests.commands.conftest import CSV, FORM
from tests.support.schemas import card_text
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.conftest import CONFIG, NOW
from tests.teams.connector import FakeConnector




async def test_two_instances_one_winner(azurite: str, tmp_path: Path) -> None:
    config = tmp_path / "chaperone.toml"
    config.write_text(CONFIG.format(profile="000-two-staff"), encoding="utf-8")
    connector = FakeConnector()
    crun, connector.url = await serve(connector.app())
    apps, runners, urls = [], [], []
    for _ in range(2):
        app = create_app(Settings(config_path=config, data_dir=tmp_path / "unused", store="tables"), store=AzureTableStore(azurite, prefix="twoinst"), clock=FixedClock(NOW), background=False)
        app[SERVICES].meeting_retry_delays = (0.01,)
        runner, url = await serve(app)
        apps.append(app), runners.append(runner), urls.append(url)
    await ConsentRegistry(apps[0][SERVICES].store).import_records(parse_csv(CSV))
    async with aiohttp.ClientSession() as http:
        async def post(i: int, activity: dict[str, Any]) -> tuple[int, Any]:
            async with http.post(f"{urls[i]}/api/messages", json=activity) as r:
                return r.status, (await r.json(content_type=None)) if (await r.text()) else None

        for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
            await post(0, act.message(f"/setup {what}", service_url=connector.url, user="ivy", scope="channel", channel=channel))
        await post(1, act.message("/book", service_url=connector.url))
        form = connector.posts("a:personal-29:tara")[-1]
        await post(0, act.submit({"verb": "book.submit", **FORM}, reply_to=form.activity_id, service_url=connector.url))
        await apps[0][SERVICES].tasks.drain()
        [session] = await apps[1][SERVICES].sessions.open_sessions()
        request = connector.channel_posts(act.SLT)[-1]

        clicks = ((0, "sam"), (1, "dee"), (0, "dee"), (1, "sam"))
        results = await asyncio.gather(*(
            post(i, act.execute("second.accept", {"ref": session.ref}, reply_to=request.activity_id, service_url=connector.url, user=user, scope="channel", channel=act.SLT))
            for i, user in clicks
        ))
        texts = [card_text(body["value"]) for _, body in results]
        # one person wins (their own second click gets the same answer); the other is told it is covered
        winners = {user for (_, user), t in zip(clicks, texts) if "You are the second adult" in t}
        assert len(winners) == 1, texts
        assert sum("already covered" in t for t in texts) == 2, texts
        for app in apps:
            await app[SERVICES].tasks.drain()
        s, _ = await apps[1][SERVICES].sessions.get(session.ref)
        assert s.state is State.SCHEDULED and s.meeting is not None
        assert len(connector.channel_posts(act.SAFEGUARDING)) == 1
    for runner in runners:
        await runner.cleanup()
    await crun.cleanup()
