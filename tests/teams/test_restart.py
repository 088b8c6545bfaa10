"""Start-up with background work on: what a crash or a restart interrupted is finished by the next start.

A session confirmed while Microsoft Teams could not create its meeting gets its meeting; a concern
stored while the safeguarding channel refused posts has its alert posted. No sleeps: the test waits
for the app's own tracked work to finish.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.app import SERVICES
from bot.consent import ConsentRegistry, parse_csv
from bot.errors import GraphError
from bot.meetings.local import LocalMeetings
from bot.meetings.provider import Meeting, MeetingRequest
from bot.sessions.model import State
from tests.support.bot import book, restarted, set_up_channels
from tests.support.forms import CONCERN, CSV
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector


class TeamsRefuses(LocalMeetings):
    """A meeting service that refuses every creation (as Graph does without an access policy)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused = asyncio.Event()

    async def create_event(self, request: MeetingRequest) -> Meeting:
        self.refused.set()
        raise GraphError("forbidden", status=403)


async def test_a_restart_finishes_the_meeting_and_posts_the_alert(tmp_path: Path, connector: FakeConnector) -> None:
    first, runner = await restarted(tmp_path, meetings=None, background=False)
    refusing = first.app[SERVICES].meetings = TeamsRefuses(first.app[SERVICES].store)
    await ConsentRegistry(first.services.store).import_records(parse_csv(CSV))
    await set_up_channels(first, connector)

    await first.post(act.message("/concern", service_url=connector.url))
    form = connector.posts("a:personal-29:tara")[-1]
    connector.fail_next = [503] * 20  # the safeguarding channel refuses the alert and its retries
    await first.post(
        act.submit({"verb": "concern.submit", **CONCERN}, reply_to=form.activity_id, service_url=connector.url)
    )
    await first.services.tasks.drain()
    [c] = await first.services.concerns.all()
    assert not c.alert_posted
    connector.fail_next = []

    await book(first, connector)
    [s] = await first.services.sessions.all()
    request = connector.channel_posts(act.SLT)[-1]
    await first.post(act.accept(s.ref, reply_to=request.activity_id, service_url=connector.url))
    await refusing.refused.wait()  # Teams refused; the session keeps retrying until this process stops
    [s] = await first.services.sessions.all()
    assert s.state is State.CONFIRMED and (s.meeting is None)
    await first.session.close()
    await runner.cleanup()

    second, runner = await restarted(tmp_path, background=True)
    try:
        await second.services.tasks.drain()  # what resume_all started (the sweep loop is a daemon)
        [s] = await second.services.sessions.all()
        assert s.state is State.SCHEDULED and s.meeting is not None
        [c] = await second.services.concerns.all()
        assert c.alert_posted
        alert = connector.channel_posts(act.SAFEGUARDING)[-1]
        assert c.ref in card_text(alert.card) and CONCERN["what"] not in card_text(alert.card)
    finally:
        await second.session.close()
        await runner.cleanup()
