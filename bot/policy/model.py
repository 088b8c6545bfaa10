"""The policy profile model: a school's written protocol as validated, frozen data.

A profile is a TOML file. Every rule has an ``id``, a ``kind`` that says what it checks, its
parameters, and the ``sentence`` of the protocol it enforces (``file`` defaults to the profile's
``source``). Sentences no machine can check become ``checklist`` items shown to the teacher
before, during or after the session.
"""

from __future__ import annotations

import re
from datetime import time
from enum import Enum
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.policy.booking import AdultRole, Consent, Reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weekday(str, Enum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class Source(_Strict):
    file: str
    text: str


RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]


class _Rule(_Strict):
    id: RuleId
    sentence: str = Field(min_length=3)
    file: str | None = None

    def source(self, default_file: str) -> Source:
        return Source(file=self.file or default_file, text=self.sentence)


class HoursRule(_Rule):
    """Sessions start and end inside these days and local hours."""

    kind: Literal["hours"]
    days: tuple[Weekday, ...] = Field(min_length=1)
    start: time
    end: time

    @model_validator(mode="after")
    def _order(self) -> "HoursRule":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class NoticeRule(_Rule):
    """Bookings need this much notice (a booking in the past is always refused)."""

    kind: Literal["notice"]
    min_minutes: int = Field(ge=0)


class DurationRule(_Rule):
    kind: Literal["duration"]
    max_minutes: int = Field(gt=0)


class OneToOneRule(_Rule):
    """Whether 1:1 sessions are allowed, and for which reasons (None: any reason)."""

    kind: Literal["one_to_one"]
    allowed: bool = True
    reasons: tuple[Reason, ...] | None = None


class GroupSizeRule(_Rule):
    kind: Literal["group_size"]
    min_pupils: int = Field(default=2, ge=1)
    max_pupils: int | None = Field(default=None, ge=1)


class SecondAdultRule(_Rule):
    """A second adult must attend; who qualifies."""

    kind: Literal["second_adult"]
    required: Literal["always", "one_to_one", "group", "never"] = "always"
    qualifies: tuple[AdultRole, ...] = Field(min_length=1)


class ConsentRule(_Rule):
    """Which parental consent states allow a pupil to be booked."""

    kind: Literal["consent"]
    accept: tuple[Consent, ...] = (Consent.SIGNED,)

    @field_validator("accept")
    @classmethod
    def _never_none(cls, v: tuple[Consent, ...]) -> tuple[Consent, ...]:
        if Consent.NONE in v:
            raise ValueError("'none' cannot be an accepted consent state")
        return v


class StaffAccountRule(_Rule):
    """Staff use school accounts: the organiser's (and a staff second adult's) email domain."""

    kind: Literal["staff_account"]


class InviteRule(_Rule):
    """Who receives the invitation: the parent's email, or the pupil's school account."""

    kind: Literal["invite"]
    to: Literal["parent_email", "pupil_school_email"]


class CopySltRule(_Rule):
    """SLT are copied on the invitation (optional attendees) with the date and time."""

    kind: Literal["copy_slt"]


class TellParentsRule(_Rule):
    """A plain sentence the invitation must carry, always or only for group sessions."""

    kind: Literal["tell_parents"]
    note: str = Field(min_length=3)
    when: Literal["always", "group", "one_to_one"] = "always"


class RecordingRule(_Rule):
    kind: Literal["recording"]
    mode: Literal["forbidden", "automatic", "slt_approval"]


class ChatRule(_Rule):
    """'disabled': no chat. 'during_session': teacher may allow chat, limited to the meeting."""

    kind: Literal["chat"]
    mode: Literal["disabled", "during_session"]


class LobbyRule(_Rule):
    kind: Literal["lobby"]
    bypass: Literal["organizer", "invited", "organization"] = "organizer"
    admitters: Literal["organizerAndCoOrganizers", "organizerAndCoOrganizersAndPresenters"] = (
        "organizerAndCoOrganizers"
    )


class PresentersRule(_Rule):
    kind: Literal["presenters"]
    who: Literal["organizer", "roleIsPresenter"] = "organizer"


class MicrophoneRule(_Rule):
    """Attendees' microphones locked until staff allow them (Graph has no 'muted on entry')."""

    kind: Literal["microphones"]
    attendees_may_unmute: bool


class CameraRule(_Rule):
    kind: Literal["cameras"]
    attendees_may_enable: bool


class BreachRule(_Rule):
    """What the teacher must do when a session ends early for one of these reasons."""

    kind: Literal["breach"]
    reasons: tuple[Literal["behaviour", "inappropriate_content", "security_breach", "safeguarding", "technical"], ...] = Field(min_length=1)
    note: str = Field(min_length=3)


class QuietHoursRule(_Rule):
    """No messages to families between start and end (local time); invitations wait."""

    kind: Literal["quiet_hours"]
    start: time
    end: time


Rule = Annotated[
    Union[
        HoursRule,
        NoticeRule,
        DurationRule,
        OneToOneRule,
        GroupSizeRule,
        SecondAdultRule,
        ConsentRule,
        StaffAccountRule,
        InviteRule,
        CopySltRule,
        TellParentsRule,
        RecordingRule,
        ChatRule,
        LobbyRule,
        PresentersRule,
        MicrophoneRule,
        CameraRule,
        QuietHoursRule,
        BreachRule,
    ],
    Field(discriminator="kind"),
]

#: Kinds a profile may hold at most once (two would contradict each other).
SINGLE_KINDS = frozenset(
    {
        "hours", "notice", "duration", "one_to_one", "group_size", "second_adult", "consent",
        "staff_account", "invite", "copy_slt", "recording", "chat", "lobby", "presenters",
        "microphones", "cameras", "quiet_hours",
    }
)


class ChecklistItem(_Strict):
    when: Literal["before", "during", "after"]
    text: str = Field(min_length=3)
    sentence: str = Field(min_length=3)
    file: str | None = None

    def source(self, default_file: str) -> Source:
        return Source(file=self.file or default_file, text=self.sentence)


class Retention(_Strict):
    """How long records are kept (years). Protocols rarely say; schools set this."""

    register_years: int = Field(default=6, ge=1, le=100)
    concern_years: int = Field(default=25, ge=1, le=100)
    sentence: str | None = None


class Profile(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: str = Field(min_length=3)
    school: str = ""
    source: str = Field(min_length=1, description="seed file the sentences come from")
    timezone: str = "Europe/London"
    rules: tuple[Rule, ...] = Field(min_length=1)
    checklist: tuple[ChecklistItem, ...] = ()
    retention: Retention = Retention()
    #: Sentences judged out of scope for the bot entirely (e.g. social media conduct), kept for the matrix.
    not_enforced: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _unique(self) -> "Profile":
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rule id(s): {', '.join(dupes)}")
        kinds = [r.kind for r in self.rules if r.kind in SINGLE_KINDS]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"rule kind(s) given more than once: {', '.join(twice)}")
        return self

    def rule(self, kind: str) -> _Rule | None:
        return next((r for r in self.rules if r.kind == kind), None)

    def rules_of(self, kind: str) -> list[_Rule]:
        return [r for r in self.rules if r.kind == kind]

    def source_of(self, rule: _Rule | ChecklistItem) -> Source:
        return rule.source(self.source)


def normalise_sentence(text: str) -> str:
    """Fold markup and white space so a rule's sentence can be found in its seed file."""
    text = re.sub(r"[*_`#]+", "", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip().casefold()
