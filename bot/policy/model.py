"""The policy profile model: a school's written protocol as validated, frozen data.

A profile is a TOML file. Every rule has an ``id``, a ``kind`` that says what it checks, its
parameters, and the ``sentence`` of the protocol it enforces (``file`` defaults to the profile's
``source``). Sentences no machine can check become ``checklist`` items shown to the teacher
before, during or after the session.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.policy.facts import Weekday
from bot.policy.findings import Source
from bot.policy.rules import (
    KINDS,
    RULE_CLASSES,
    SINGLE_KINDS,
    BreachRule,
    CameraRule,
    ChatRule,
    ConcernRouteRule,
    ConsentRule,
    CopySltRule,
    DurationRule,
    GroupSizeRule,
    HoursRule,
    InviteRule,
    LobbyRule,
    MicrophoneRule,
    NoticeRule,
    OneToOneRule,
    PresentersRule,
    QuietHoursRule,
    RecordingRule,
    Rule,
    RuleBase,
    SecondAdultRule,
    StaffAccountRule,
    TellParentsRule,
)
from bot.texts import policy as policy_texts

__all__ = [
    "KINDS",
    "RULE_CLASSES",
    "SINGLE_KINDS",
    "BreachRule",
    "CameraRule",
    "ChatRule",
    "ChecklistItem",
    "ConcernRouteRule",
    "ConsentRule",
    "CopySltRule",
    "DurationRule",
    "GroupSizeRule",
    "HoursRule",
    "InviteRule",
    "LobbyRule",
    "MicrophoneRule",
    "NoticeRule",
    "OneToOneRule",
    "PresentersRule",
    "Profile",
    "QuietHoursRule",
    "RecordingRule",
    "Retention",
    "Rule",
    "RuleBase",
    "SecondAdultRule",
    "Source",
    "StaffAccountRule",
    "TellParentsRule",
    "Weekday",
    "normalise_sentence",
]

R = TypeVar("R", bound=RuleBase)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Strict):
    when: Literal["before", "during", "after"]
    text: str = Field(min_length=3)
    sentence: str = Field(min_length=3)
    file: str | None = None

    def source(self, default_file: str, title: str | None = None) -> Source:
        if self.file:
            return Source(file=self.file, text=self.sentence, title=self.file)
        return Source(file=default_file, text=self.sentence, title=title)


class Retention(_Strict):
    """How long records are kept (years). Protocols rarely say; schools set this."""

    register_years: int = Field(default=6, ge=1, le=100)
    concern_years: int = Field(default=25, ge=1, le=100)
    sentence: str | None = None


class Profile(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: str = Field(min_length=3)
    #: The protocol's own title, quoted from its source, so refusals can name it as a teacher knows it.
    title: str = ""
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
            raise ValueError(policy_texts.invalid_time_zone(v)) from exc
        return v

    @model_validator(mode="after")
    def _unique(self) -> Profile:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(policy_texts.invalid_duplicate_ids(dupes))
        kinds = [r.kind for r in self.rules if r.kind in SINGLE_KINDS]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(policy_texts.invalid_kinds_twice(twice))
        routes = [r.about for r in self.rules if isinstance(r, ConcernRouteRule)]
        if len(routes) != len(set(routes)):
            raise ValueError(policy_texts.INVALID_ROUTE_TWICE)
        return self

    def rule(self, cls: type[R]) -> R | None:
        """The profile's rule of this kind, if any (the first, for kinds allowed more than once)."""
        return next((r for r in self.rules if isinstance(r, cls)), None)

    def rules_of(self, cls: type[R]) -> list[R]:
        return [r for r in self.rules if isinstance(r, cls)]

    @property
    def protocol(self) -> str:
        """The protocol's name as a teacher knows it: its title, else the profile's name."""
        return self.title or self.name

    def source_of(self, rule: RuleBase | ChecklistItem) -> Source:
        return rule.source(self.source, self.protocol)


def normalise_sentence(text: str) -> str:
    """Fold markup and white space so a rule's sentence can be found in its seed file."""
    text = re.sub(r"[*_`#]+", "", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip().casefold()
