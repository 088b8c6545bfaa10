"""LocalMeetings follows the same three steps as Graph, each idempotent per booking."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import Conflict
from bot.meetings.local import LocalMeetings
from bot.meetings.provider import Meeting, open_meeting
from bot.store.tiny import TinyStore
from tests.support.meetings import request


async def test_local_steps(tmp_path: Path) -> None:
    store = TinyStore(tmp_path / "data")
    try:
        local = LocalMeetings(store)
        req = request()
        meeting = await local.create_event(req)
        assert meeting.local and not meeting.locked and not meeting.families_invited
        with pytest.raises(Conflict):
            await local.invite_families(meeting, req)  # never before the lock
        assert await local.verify(meeting, organiser_id="aad-tara", repair=False) != []  # nothing applied yet
        opened = await open_meeting(local, req)
        assert opened.locked and opened.families_invited and opened.event_id == meeting.event_id
        assert await open_meeting(local, req) == opened
        assert await local.verify(opened, organiser_id="aad-tara") == []
    finally:
        await store.close()


def test_meetings_stored_before_the_lock_step_read_as_complete() -> None:
    old = {
        "booking_id": "S-ABC234",
        "join_url": "x",
        "event_id": "e",
        "meeting_id": "m",
        "settings": {},
        "options_url": None,
        "local": False,
    }
    m = Meeting.model_validate(old)
    assert m.locked and m.families_invited
