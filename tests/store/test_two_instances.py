"""Two bot instances sharing one Azure table store (Azurite): concurrent accepts of one second-adult
request give exactly one winner, and the register card is posted once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.consent import ConsentRegistry, parse_csv
from bot.sessions.model import State
from bot.store.tables import AzureTableStore
from tests.support.bot import CONFIG
from tests.support.forms import CSV, FORM
from tests.support.people import NOW
from tests.support.schemas import card_text
from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.connector import FakeConnector


async def two_instances(
    azurite: str, tmp_path: Path, prefix: str
) -> tuple[FakeConnector, list[Any], list[Any], list[str]]:
    """A loopback connector (its runner last in the runner list) and two bots on one Azurite table store."""
    config = tmp_path / "chaperone.toml"
    config.write_text(CONFIG.format(profile="000-two-staff"), encoding="utf-8")
    connector = FakeConnector()
    crun, connector.url = await serve(connector.app())
    apps, runners, urls = [], [], []
    for _ in range(2):
        app = create_app(
            Settings(config_path=config, data_dir=tmp_path / "unused", store="tables"),
            store=AzureTableStore(azurite, prefix=prefix),
            clock=FixedClock(NOW),
            background=False,
        )
        app[SERVICES].meeting_retry_delays = (0.01,)
        runner, url = await serve(app)
        apps.append(app), runners.append(runner), urls.append(url)
    await ConsentRegistry(apps[0][SERVICES].store).import_records(parse_csv(CSV))
    return connector, apps, [*runners, crun], urls


async def test_two_instances_one_winner(azurite: str, tmp_path: Path) -> None:
    connector, apps, runners, urls = await two_instances(azurite, tmp_path, "twoinst")
    async with aiohttp.ClientSession() as http:

        async def post(i: int, activity: dict[str, Any]) -> tuple[int, Any]:
            async with http.post(f"{urls[i]}/api/messages", json=activity) as r:
                return r.status, (await r.json(content_type=None)) if (await r.text()) else None

        for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
            await post(
                0,
                act.message(f"/setup {what}", service_url=connector.url, user="ivy", scope="channel", channel=channel),
            )
        await post(1, act.message("/book", service_url=connector.url))
        form = connector.posts("a:personal-29:tara")[-1]
        await post(0, act.submit({"verb": "book.submit", **FORM}, reply_to=form.activity_id, service_url=connector.url))
        await apps[0][SERVICES].tasks.drain()
        [session] = await apps[1][SERVICES].sessions.open_sessions()
        request = connector.channel_posts(act.SLT)[-1]

        clicks = ((0, "sam"), (1, "dee"), (0, "dee"), (1, "sam"))
        results = await asyncio.gather(
            *(
                post(
                    i,
                    act.accept(session.ref, reply_to=request.activity_id, service_url=connector.url, user=user),
                )
                for i, user in clicks
            )
        )
        texts = [card_text(body["value"]) for _, body in results]
        # one person wins (their own second click gets the same answer); the other is told it is covered
        winners = {user for (_, user), t in zip(clicks, texts, strict=True) if "You are the second adult" in t}
        assert len(winners) == 1, texts
        assert sum("already covered" in t for t in texts) == 2, texts
        for app in apps:
            await app[SERVICES].tasks.drain()
        s, _ = await apps[1][SERVICES].sessions.get(session.ref)
        assert s.state is State.SCHEDULED and s.meeting is not None
        assert len(connector.channel_posts(act.SAFEGUARDING)) == 1
    for runner in runners:
        await runner.cleanup()


async def test_two_instances_send_each_timer_once(azurite: str, tmp_path: Path) -> None:
    """Reminder, give-up and re-raise are jobs claimed with an ETag lease: with two instances
    running their outbox passes at the same moment, each reaches the connector exactly once."""
    from datetime import timedelta

    from tests.support.forms import CONCERN

    connector, apps, runners, urls = await two_instances(azurite, tmp_path, "twotimers")
    services = [app[SERVICES] for app in apps]

    async def both(at: Any) -> None:
        for s in services:
            s.clock.at = at
        await asyncio.gather(*(s.outbox.run_due(s) for s in services + services))
        for s in services:
            await s.tasks.drain()

    async with aiohttp.ClientSession() as http:

        async def post(i: int, activity: dict[str, Any]) -> None:
            async with http.post(f"{urls[i]}/api/messages", json=activity) as r:
                assert r.status == 200

        for what, channel in (("safeguarding", act.SAFEGUARDING), ("slt", act.SLT)):
            await post(
                0,
                act.message(f"/setup {what}", service_url=connector.url, user="ivy", scope="channel", channel=channel),
            )
        await post(1, act.message("/book", service_url=connector.url))
        form = connector.posts("a:personal-29:tara")[-1]
        await post(0, act.submit({"verb": "book.submit", **FORM}, reply_to=form.activity_id, service_url=connector.url))
        await post(1, act.message("/concern", service_url=connector.url))
        cform = connector.posts("a:personal-29:tara")[-1]
        await post(
            1, act.submit({"verb": "concern.submit", **CONCERN}, reply_to=cform.activity_id, service_url=connector.url)
        )
        for s in services:
            await s.tasks.drain()
        [session] = await services[0].sessions.all()

        await both(NOW + timedelta(minutes=61))  # the reminder and the concern's re-raise are due
        await both(NOW + timedelta(minutes=62))
        reminders = [p for p in connector.channel_posts(act.SLT) if "Reminder" in card_text(p.card or {})]
        reraised = [
            p for p in connector.channel_posts(act.SAFEGUARDING) if "Not yet acknowledged" in card_text(p.card or {})
        ]
        assert len(reminders) == 1 and len(reraised) == 1

        await both(session.booking.start - timedelta(minutes=20))  # nobody accepted: give up
        await both(session.booking.start - timedelta(minutes=19))
        s, _ = await services[1].sessions.get(session.ref)
        assert s.state is State.CANCELLED
        gave_up = [u for u in connector.updates(form.activity_id) if "cannot go ahead" in card_text(u.card or {})]
        assert len(gave_up) == 1
        assert len([e for e in await services[0].audit.entries(s.ref) if e.action == "session.cancelled"]) == 1
    for runner in runners:
        await runner.cleanup()
