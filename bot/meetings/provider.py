"""The MeetingProvider protocol: what the bot needs from a meeting service, and the data it passes.

Implementations: ``bot.meetings.local.LocalMeetings`` (no tenant) and
``bot.meetings.graph.GraphMeetings`` (Microsoft Graph). Both must be idempotent on
``MeetingRequest.booking_id``: calling ``create`` twice for one booking returns the same meeting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Invitee:
    name: str
    email: str


@dataclass(frozen=True)
class MeetingRequest:
    """Everything needed to create one session's meeting."""

    booking_id: str
    subject: str
    start: datetime  # timezone-aware
    end: datetime  # timezone-aware
    timezone: str  # IANA name, e.g. Europe/London
    organiser_id: str  # the teacher's AAD object id (or UPN in local mode)
    organiser_email: str
    #: Parents' emails (or pupils' school accounts, per profile): required attendees.
    attendees: tuple[Invitee, ...]
    #: The second adult, a required attendee, if known.
    second_adult: Invitee | None
    #: SLT copied (optional attendees) so they know the date and time.
    cc: tuple[Invitee, ...]
    #: Plain sentences for the invitation body, from the profile (what parents must know).
    notes: tuple[str, ...]
    #: onlineMeeting fields to PATCH, exactly as Graph names them (see bot.policy.meeting).
    settings: dict[str, Any]


class Meeting(BaseModel):
    """A created meeting, as the session record stores it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    booking_id: str
    join_url: str
    event_id: str
    meeting_id: str
    settings: dict[str, Any]
    options_url: str | None = None
    local: bool = False


@dataclass(frozen=True)
class AttendanceInterval:
    join: datetime
    leave: datetime


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str | None
    role: str | None
    intervals: tuple[AttendanceInterval, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Drift:
    """A setting found different from what the profile requires."""

    field: str
    expected: Any
    found: Any


@runtime_checkable
class MeetingProvider(Protocol):
    async def create(self, request: MeetingRequest) -> Meeting:
        """Create the event and meeting and apply the settings. Idempotent per booking_id."""

    async def cancel(self, meeting: Meeting, *, organiser_id: str, comment: str) -> None:
        """Cancel the event; attendees are told with the comment."""

    async def verify(self, meeting: Meeting, *, organiser_id: str, repair: bool = True) -> list[Drift]:
        """Re-read the settings; on drift, put them back when ``repair``. Returns what differed."""

    async def attendance(self, meeting: Meeting, *, organiser_id: str) -> list[Attendee] | None:
        """Attendance per participant, or None while the report is not available yet."""
