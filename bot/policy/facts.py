"""What the rules engine needs to know about the school: a small frozen input built from its config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import Enum


class Weekday(str, Enum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


@dataclass(frozen=True)
class Hours:
    """The school's own days and local hours; they narrow (never widen) a profile's hours rule."""

    days: tuple[Weekday, ...]
    start: time
    end: time


@dataclass(frozen=True)
class PolicyFacts:
    """The school facts a policy decision depends on (built by ``SchoolConfig.policy_facts()``).

    Domains are lower-case without ``@``; ``slt`` holds the SLT members' ids (emails / UPNs / AAD
    object ids) as written in the config. ``source`` names where the facts came from (the config
    file), for the school-hours rule's citation.
    """

    staff_domains: tuple[str, ...]
    pupil_domains: tuple[str, ...] = ()
    slt: tuple[str, ...] = ()
    timezone: str | None = None
    hours: Hours | None = None
    source: str = "school config"

    def is_staff_email(self, email: str | None) -> bool:
        return bool(email) and _domain(email) in self.staff_domains

    def is_pupil_email(self, email: str | None) -> bool:
        return bool(email) and _domain(email) in self.pupil_domains

    def is_slt(self, *ids: str | None) -> bool:
        keys = {i.strip().casefold() for i in ids if i}
        return bool(keys & {s.strip().casefold() for s in self.slt})


def _domain(email: str | None) -> str:
    return (email or "").rsplit("@", 1)[-1].lower()
