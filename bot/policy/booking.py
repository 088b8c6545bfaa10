"""The booking a teacher asks for: the input of the rules engine (and of `chaperone policy try`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from bot.policy.email import Email
from bot.texts import policy as policy_texts


class SessionType(str, Enum):
    GROUP = "group"
    ONE_TO_ONE = "one_to_one"


class Reason(str, Enum):
    LESSON = "lesson"
    READING = "reading"
    PASTORAL = "pastoral"
    SEN = "sen"
    MUSIC = "music"
    THERAPY = "therapy"
    REVIEW = "review"


class Consent(str, Enum):
    SIGNED = "signed"
    IMPLIED = "implied"
    NONE = "none"


class AdultRole(str, Enum):
    SLT = "slt"
    STAFF = "staff"
    PARENT = "parent"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Name = Annotated[str, Field(min_length=1, max_length=120)]


class Person(_Strict):
    name: Name
    email: Email


class Pupil(_Strict):
    name: Name
    parent_email: Email | None = None
    school_email: Email | None = None
    consent: Consent = Consent.NONE
    #: Optional: the parent's name, for the invitation.
    parent_name: str | None = None


class SecondAdult(Person):
    role: AdultRole


class Booking(_Strict):
    organiser: Person
    type: SessionType
    reason: Reason
    start: AwareDatetime
    duration_minutes: int = Field(gt=0, le=24 * 60)
    pupils: list[Pupil] = Field(min_length=1, max_length=60)
    second_adult: SecondAdult | None = None
    #: None: follow the profile. True/False: the teacher asked for it / against it.
    recording: bool | None = None
    chat: bool | None = None
    #: Optional extras: a title for the calendar event and the booking's own id.
    title: str | None = Field(default=None, max_length=200)
    id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _shape(self) -> Booking:
        if self.type is SessionType.ONE_TO_ONE and len(self.pupils) != 1:
            raise ValueError(policy_texts.INVALID_ONE_TO_ONE)
        names = [p.name.casefold() for p in self.pupils]
        if len(set(names)) != len(names):
            raise ValueError(policy_texts.INVALID_PUPIL_TWICE)
        return self

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)

    @property
    def effective_type(self) -> SessionType:
        """A 'group' of one pupil is a 1:1 for every 1:1 rule."""
        return SessionType.ONE_TO_ONE if len(self.pupils) == 1 else SessionType.GROUP
