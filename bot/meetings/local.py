"""LocalMeetings: a MeetingProvider that needs no tenant. It stores the meeting and gives a
join link that says plainly it is local, so nobody mistakes a trial run for a real session."""

from __future__ import annotations

import logging

from bot.errors import Conflict, NotFound
from bot.meetings.provider import Attendee, Drift, Meeting, MeetingRequest
from bot.store.base import Store

log = logging.getLogger(__name__)
TABLE = "meetings"


class LocalMeetings:
    def __init__(self, store: Store, *, base_url: str = "http://localhost/chaperone-local-meeting") -> None:
        self._store = store
        self._base = base_url.rstrip("/")

    async def create(self, request: MeetingRequest) -> Meeting:
        existing = await self._store.get(TABLE, request.booking_id)
        if existing is not None:
            return Meeting.model_validate(existing.doc["meeting"])
        meeting = Meeting(
            booking_id=request.booking_id,
            join_url=f"{self._base}/{request.booking_id}?local=1",
            event_id=f"local-event-{request.booking_id}",
            meeting_id=f"local-meeting-{request.booking_id}",
            settings=dict(request.settings),
            options_url=None,
            local=True,
        )
        try:
            await self._store.insert(
                TABLE, request.booking_id, {"meeting": meeting.model_dump(mode="json"), "cancelled": False, "open": False, "day": request.start.date().isoformat()}
            )
        except Conflict:  # a concurrent create for the same booking won; return its meeting
            stored = await self._store.get(TABLE, request.booking_id)
            assert stored is not None
            return Meeting.model_validate(stored.doc["meeting"])
        log.info("local meeting created booking=%s", request.booking_id)
        return meeting

    async def cancel(self, meeting: Meeting, *, organiser_id: str, comment: str) -> None:
        rec = await self._store.get(TABLE, meeting.booking_id)
        if rec is None:
            raise NotFound(f"No meeting for booking {meeting.booking_id}.")
        await self._store.replace(TABLE, meeting.booking_id, {**rec.doc, "cancelled": True}, etag=rec.etag)

    async def verify(self, meeting: Meeting, *, organiser_id: str, repair: bool = True) -> list[Drift]:
        rec = await self._store.get(TABLE, meeting.booking_id)
        if rec is None:
            raise NotFound(f"No meeting for booking {meeting.booking_id}.")
        found = rec.doc["meeting"]["settings"]
        drift = [Drift(k, v, found.get(k)) for k, v in meeting.settings.items() if found.get(k) != v]
        if drift and repair:
            doc = {**rec.doc, "meeting": {**rec.doc["meeting"], "settings": {**found, **meeting.settings}}}
            await self._store.replace(TABLE, meeting.booking_id, doc, etag=rec.etag)
        return drift

    async def attendance(self, meeting: Meeting, *, organiser_id: str) -> list[Attendee] | None:
        return None  # a local meeting has no attendance report
