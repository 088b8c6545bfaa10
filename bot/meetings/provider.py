"""The MeetingProvider protocol: what the bot needs from a meeting service, and the data it passes.

Implementations: ``bot.meetings.local.LocalMeetings`` (no tenant) and
``bot.meetings.graph.GraphMeetings`` (Microsoft Graph). A meeting is opened in three explicit
steps, so that no family is ever invited to a meeting whose settings are not in place:

1. ``create_event``: the calendar event with its Teams meeting, staff only (second adult, SLT copied);
2. ``lock``: apply the protocol's settings and read them back; raises unless they read back equal;
3. ``invite_families``: add the families to the event (which sends their invitations), only when locked.

Every step is idempotent per ``MeetingRequest.booking_id``: repeating it returns the same meeting
and invites nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, model_validator


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
    #: The second adult is a family member (a parent), so is invited with the families, after the lock.
    second_adult_is_family: bool = False


Role = Literal["required", "optional"]


@dataclass(frozen=True)
class Invitation:
    """One person on the event, once, with their strongest role."""

    invitee: Invitee
    role: Role
    family: bool


def invitations(request: MeetingRequest) -> list[Invitation]:
    """Everyone the event invites, each once (by address, case-insensitively) with their strongest
    role: families and the second adult required, SLT copied optional. Anyone who is also a family
    invitee counts as family (invited only after the lock); the organiser is never an attendee."""
    family = list(request.attendees) + (
        [request.second_adult] if request.second_adult and request.second_adult_is_family else []
    )
    candidates: list[tuple[Invitee, Role]] = [(i, "required") for i in family]
    if request.second_adult and not request.second_adult_is_family:
        candidates.append((request.second_adult, "required"))
    candidates += [(i, "optional") for i in request.cc]
    family_keys = {i.email.casefold() for i in family}
    chosen: dict[str, Invitation] = {}
    for invitee, role in candidates:
        key = invitee.email.casefold()
        if not key or key == request.organiser_email.casefold():
            continue
        known = chosen.get(key)
        if known is None:
            chosen[key] = Invitation(invitee, role, key in family_keys)
        elif known.role == "optional" and role == "required":
            chosen[key] = Invitation(known.invitee, "required", known.family)
    return list(chosen.values())


def hides_attendees(request: MeetingRequest) -> bool:
    """More than one family on one event: nobody may see the others' addresses."""
    return sum(1 for i in invitations(request) if i.family) > 1


class Meeting(BaseModel):
    """A created meeting, as the session record stores it, with how far opening it got."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    booking_id: str
    join_url: str
    event_id: str
    meeting_id: str
    settings: dict[str, Any]
    options_url: str | None = None
    local: bool = False
    #: The protocol's settings were applied and read back equal.
    locked: bool = False
    #: The families are on the event (Exchange has sent their invitations).
    families_invited: bool = False

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, doc: Any) -> Any:
        """Meetings stored before the lock step existed were made in one go: locked, families invited."""
        if isinstance(doc, dict) and "families_invited" not in doc:
            doc = {**doc, "locked": doc.get("locked", True), "families_invited": True}
        return doc


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
    async def create_event(self, request: MeetingRequest) -> Meeting:
        """The event with its Teams meeting and the staff only (no family). Idempotent per booking_id."""

    async def lock(self, meeting: Meeting, request: MeetingRequest) -> Meeting:
        """Apply the request's settings and read them back; ``locked`` when they read back equal,
        else a GraphError (reason ``settings_differ``, its ``fields`` those that differ)."""

    async def invite_families(self, meeting: Meeting, request: MeetingRequest) -> Meeting:
        """Add the families (a locked meeting only); nobody already on the event is invited again."""

    async def cancel(self, meeting: Meeting, *, organiser_id: str, comment: str) -> None:
        """Cancel the event; attendees are told with the comment."""

    async def verify(self, meeting: Meeting, *, organiser_id: str, repair: bool = True) -> list[Drift]:
        """Re-read the settings; on drift, put them back when ``repair``. Returns what differed."""

    async def attendance(self, meeting: Meeting, *, organiser_id: str) -> list[Attendee] | None:
        """Attendance per participant, or None while the report is not available yet."""

    async def close(self) -> None:
        """Release connections (at shutdown)."""


async def open_meeting(provider: MeetingProvider, request: MeetingRequest) -> Meeting:
    """The three steps in order (for the CLI and tests; the session workflow runs them one by one)."""
    meeting = await provider.create_event(request)
    meeting = await provider.lock(meeting, request)
    return await provider.invite_families(meeting, request)
