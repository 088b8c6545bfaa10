"""What a rule finds in a booking (violations and requirements) and what a rule's check is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.policy.booking import Booking
from bot.policy.facts import PolicyFacts
from bot.texts.policy import fmt


class Source(BaseModel):
    """Where a rule comes from: the file, the sentence quoted, and the protocol's title."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str
    text: str
    title: str | None = None

    @property
    def name(self) -> str:
        """What a teacher calls the protocol: its title, else the file."""
        return self.title or self.file

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "text": self.text, "title": self.name}


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    source: Source

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "source": self.source.to_json()}


@dataclass(frozen=True)
class Requirement:
    kind: str
    detail: str
    rule: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail}


Finding = Violation | Requirement


class Cited(Protocol):
    """Anything with an id and the sentence it enforces (a rule)."""

    @property
    def id(self) -> str: ...

    def source(self, default_file: str, title: str | None = None) -> Source: ...


@dataclass(frozen=True)
class Checker:
    """What a rule's check of one pupil is given: the school facts and how to cite the profile."""

    facts: PolicyFacts
    source_file: str
    title: str | None

    def v(self, rule: Cited, key: str, **values: object) -> Violation:
        return Violation(rule.id, fmt(key, **values), rule.source(self.source_file, self.title))

    @property
    def staff_domains(self) -> str:
        return ", ".join("@" + d for d in self.facts.staff_domains)

    @property
    def pupil_domains(self) -> str:
        return ", ".join("@" + d for d in self.facts.pupil_domains) or "none configured"


@dataclass(frozen=True)
class Context(Checker):
    """What every rule's check is given: the facts and citation, the booking, and the time."""

    booking: Booking
    now: datetime
    tz: ZoneInfo


def hhmm(t: time | datetime) -> str:
    return t.strftime("%H:%M")


def span(minutes: float) -> str:
    """A duration in words: '2 days', '1 h 30 min', '45 minutes'."""
    whole = int(minutes)
    if whole >= 1440 and whole % 1440 == 0:
        d = whole // 1440
        return f"{d} day" + ("s" if d != 1 else "")
    if whole >= 60:
        h, mm = divmod(whole, 60)
        return f"{h} h {mm:02d} min" if mm else f"{h} hour" + ("s" if h != 1 else "")
    return f"{max(whole, 0)} minutes"
