"""The Session record and its lifecycle (see DESIGN.md "The session lifecycle")."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import texts
from bot.chat import CardRef
from bot.errors import Conflict
from bot.jobs import Owed
from bot.meetings.provider import Meeting
from bot.policy.booking import Booking


class State(str, Enum):
    AWAITING_SECOND_ADULT = "awaiting_second_adult"
    CONFIRMED = "confirmed"  # policy satisfied; the meeting is being created
    SCHEDULED = "scheduled"  # meeting exists, invitations sent
    ENDED = "ended"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({State.AWAITING_SECOND_ADULT, State.CONFIRMED, State.SCHEDULED})

TRANSITIONS: dict[State, frozenset[State]] = {
    State.AWAITING_SECOND_ADULT: frozenset({State.CONFIRMED, State.CANCELLED}),
    State.CONFIRMED: frozenset({State.SCHEDULED, State.CANCELLED}),
    State.SCHEDULED: frozenset({State.ENDED, State.CANCELLED}),
    State.ENDED: frozenset(),
    State.CANCELLED: frozenset(),
}


class PersonRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    email: str | None = None
    aad_id: str | None = None
    role: str | None = None


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    what: str
    by: str | None = None  # an actor key (AAD id), never a name


EarlyReason = Literal["behaviour", "inappropriate_content", "security_breach", "safeguarding", "technical"]
EARLY_REASONS: tuple[EarlyReason, ...] = (
    "behaviour",
    "inappropriate_content",
    "security_breach",
    "safeguarding",
    "technical",
)
Outcome = Literal["completed", "ended_early", "did_not_take_place"]
RecordingDecision = Literal["approved", "declined"]
#: What the attendance report showed that the register must flag (texts.ATTENDANCE_FLAGS says it in words).
AttendanceFlag = Literal["second_adult_gap", "pupil_without_staff"]
_FLAG_FROM_WORDS = {words: code for code, words in texts.ATTENDANCE_FLAGS.items()}


class Requirement(BaseModel):
    """Something the protocol requires of this session beyond the booking itself (rule kind + its sentence)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    detail: str


class MeetingProblem(BaseModel):
    """Why a confirmed session has no meeting yet, as a code (the card renders the sentence).

    ``quiet_hours``: held until ``until``; ``retrying``: Microsoft Teams is unavailable and
    Chaperone keeps trying; ``failed``: a lasting error, ``error`` its code (bot.errors.GraphError.reason);
    ``no_second_adult``: nobody accepted in time, so the session was cancelled;
    ``not_locked`` / ``not_locked_safeguarding``: the event exists (staff only) but the protocol's
    settings (``fields``) could not be applied, so no family is invited; the DSL was told too when a
    safeguarding setting is among them; ``too_late``: the start time passed before the meeting was
    ready, so the session was cancelled. On a cancelled session: ``cancelled_families_told`` (the
    event was cancelled and the families' invitations withdrawn), ``cancelled_none_invited`` (no
    family had been invited), ``cancelling`` (the event is being cancelled now), ``cancel_pending`` / ``cancel_pending_families`` (the event could not
    be cancelled yet; Chaperone keeps trying; whether families hold an invitation).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Literal[
        "quiet_hours",
        "retrying",
        "failed",
        "no_second_adult",
        "not_locked",
        "not_locked_safeguarding",
        "too_late",
        "cancelled_families_told",
        "cancelled_none_invited",
        "cancelling",
        "cancel_pending",
        "cancel_pending_families",
    ]
    until: datetime | None = None
    error: str | None = None
    fields: tuple[str, ...] = ()


class PupilAttendance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    present: bool
    parent_at_start: bool
    parent_at_end: bool


class Closure(BaseModel):
    """What /end records: the register's evidence that the protocol was followed."""

    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    early_reason: EarlyReason | None = None
    actual_start: datetime | None = None  # None when it did not take place
    actual_end: datetime | None = None
    pupils: list[PupilAttendance]
    second_adult_throughout: bool | None = None
    note: str = ""
    closed_by: str
    closed_at: datetime
    #: Join/leave times from the meeting's attendance report, merged later (Graph).
    attendance: list[dict[str, Any]] = Field(default_factory=list)
    flags: list[AttendanceFlag] = Field(default_factory=list)

    @field_validator("flags", mode="before")
    @classmethod
    def _flag_codes(cls, value: Any) -> Any:
        """Closures stored before flags were codes held the sentence: read it back as its code."""
        if not isinstance(value, list):
            return value
        return [_FLAG_FROM_WORDS.get(v, v) if isinstance(v, str) else v for v in value]


class Session(Owed):
    """A booked session; its owed side effects and applied action keys ride on it (bot/jobs.py)."""

    model_config = ConfigDict(extra="forbid")

    ref: str
    state: State
    profile_id: str
    booking: Booking
    organiser: PersonRef
    second_adult: PersonRef | None = None
    needs_second_adult: bool = False
    qualifies: list[str] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)
    meeting: Meeting | None = None
    problem: MeetingProblem | None = None
    status_card: CardRef | None = None
    register_card: CardRef | None = None
    request_card: CardRef | None = None
    #: SLT's decision on a recording request (profiles where recording needs SLT approval).
    recording_decision: RecordingDecision | None = None
    recording_decided_by: PersonRef | None = None
    recording_card: CardRef | None = None
    #: Posts (job kinds) that keep failing; the teacher's card says so until they go through.
    undelivered: list[str] = Field(default_factory=list)
    history: list[Event] = Field(default_factory=list)
    closure: Closure | None = None
    created_at: datetime
    updated_at: datetime
    # store hints: hot data is what is open; closed records move to their day's partition
    open: bool = True
    day: str = ""

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, doc: Any) -> Any:
        """Records stored before problems were codes held a sentence in ``meeting_error``."""
        if isinstance(doc, dict) and "meeting_error" in doc:
            doc = dict(doc)
            legacy = doc.pop("meeting_error")
            if legacy and "problem" not in doc:
                doc["problem"] = {"code": "failed", "error": "unknown"}
        return doc

    def move(self, to: State, *, at: datetime, by: str | None) -> None:
        if to not in TRANSITIONS[self.state]:
            raise Conflict(
                texts.CANNOT_MOVE.format(
                    ref=self.ref, state=self.state.value.replace("_", " "), to=to.value.replace("_", " ")
                )
            )
        self.state = to
        self.open = to in OPEN_STATES
        self.updated_at = at
        self.history.append(Event(at=at, what=to.value, by=by))

    def note(self, what: str, *, at: datetime, by: str | None) -> None:
        self.updated_at = at
        self.history.append(Event(at=at, what=what, by=by))

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Session:
        return cls.model_validate(doc)
