"""LocalMeetings: a MeetingProvider that needs no tenant. It stores the meeting and gives a
join link that says plainly it is local, so nobody mistakes a trial run for a real session.

It follows the same three steps as Graph (event, lock, families), each idempotent per booking,
so the session workflow behaves the same with or without a tenant."""

from __future__ import annotations

import logging
from typing import Any

from bot.errors import Conflict, NotFound
from bot.meetings.provider import Attendee, Drift, Meeting, MeetingRequest, open_meeting
from bot.store.base import Store
from bot.texts import meetings as meeting_texts

log = logging.getLogger(__name__)
TABLE = "meetings"


class LocalMeetings:
    def __init__(self, store: Store, *, base_url: str = "http://localhost/chaperone-local-meeting") -> None:
        self._store = store
        self._base = base_url.rstrip("/")

    async def create_event(self, request: MeetingRequest) -> Meeting:
        existing = await self._store.get(TABLE, request.booking_id)
        if existing is not None:
            return _wanted(existing.doc, request)
        meeting = Meeting(
            booking_id=request.booking_id,
            join_url=f"{self._base}/{request.booking_id}?local=1",
            event_id=f"local-event-{request.booking_id}",
            meeting_id=f"local-meeting-{request.booking_id}",
            settings=dict(request.settings),
            options_url=None,
            local=True,
            locked=False,
            families_invited=False,
        )
        # the stored meeting's settings are those in force: none of the protocol's yet
        doc = {
            "meeting": {**meeting.model_dump(mode="json"), "settings": {}},
            "cancelled": False,
            "open": False,
            "day": request.start.date().isoformat(),
        }
        try:
            await self._store.insert(TABLE, request.booking_id, doc)
        except Conflict:  # a concurrent create for the same booking won; return its meeting
            stored = await self._store.get(TABLE, request.booking_id)
            assert stored is not None
            return _wanted(stored.doc, request)
        log.info("local meeting created booking=%s", request.booking_id)
        return meeting

    async def _change(self, booking_id: str, change: dict[str, Any]) -> dict[str, Any]:
        rec = await self._store.get(TABLE, booking_id)
        if rec is None:
            raise NotFound(meeting_texts.no_meeting(booking_id))
        doc = {**rec.doc, "meeting": {**rec.doc["meeting"], **change}}
        await self._store.replace(TABLE, booking_id, doc, etag=rec.etag)
        return doc

    async def create(self, request: MeetingRequest) -> Meeting:
        """The three steps in order, locked before invite (for the CLI and tests)."""
        return await open_meeting(self, request)

    async def lock(self, meeting: Meeting, request: MeetingRequest) -> Meeting:
        doc = await self._change(meeting.booking_id, {"settings": dict(request.settings), "locked": True})
        return _wanted(doc, request)

    async def invite_families(self, meeting: Meeting, request: MeetingRequest) -> Meeting:
        if not meeting.locked:
            raise Conflict(meeting_texts.not_locked(meeting.booking_id))
        doc = await self._change(meeting.booking_id, {"families_invited": True})
        return _wanted(doc, request)

    async def cancel(self, meeting: Meeting, *, organiser_id: str, comment: str) -> None:
        rec = await self._store.get(TABLE, meeting.booking_id)
        if rec is None:
            raise NotFound(meeting_texts.no_meeting(meeting.booking_id))
        await self._store.replace(TABLE, meeting.booking_id, {**rec.doc, "cancelled": True}, etag=rec.etag)

    async def verify(self, meeting: Meeting, *, organiser_id: str, repair: bool = True) -> list[Drift]:
        rec = await self._store.get(TABLE, meeting.booking_id)
        if rec is None:
            raise NotFound(meeting_texts.no_meeting(meeting.booking_id))
        found = rec.doc["meeting"]["settings"]
        drift = [Drift(k, v, found.get(k)) for k, v in meeting.settings.items() if found.get(k) != v]
        if drift and repair:
            doc = {**rec.doc, "meeting": {**rec.doc["meeting"], "settings": {**found, **meeting.settings}}}
            await self._store.replace(TABLE, meeting.booking_id, doc, etag=rec.etag)
        return drift

    async def attendance(self, meeting: Meeting, *, organiser_id: str) -> list[Attendee] | None:
        return None  # a local meeting has no attendance report

    async def close(self) -> None:
        return None  # nothing to release


def _wanted(doc: dict[str, Any], request: MeetingRequest) -> Meeting:
    """The stored meeting as the provider returns it: with the settings the request wants."""
    return Meeting.model_validate({**doc["meeting"], "settings": dict(request.settings)})
