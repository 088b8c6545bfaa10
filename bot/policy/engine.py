"""The rules engine: a pure function from (profile, school facts, booking, now) to a decision."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.policy import model as m
from bot.policy.booking import Booking, Consent, Pupil
from bot.policy.facts import PolicyFacts
from bot.policy.findings import Checker, Context, Finding, Requirement, Violation, hhmm
from bot.policy.meeting import meeting_settings
from bot.policy.model import Profile, Source
from bot.texts.policy import BASELINE, BASELINE_FILE, fmt, school_hours

__all__ = [
    "Decision",
    "Finding",
    "Requirement",
    "Violation",
    "baseline_pupil",
    "breach_notes",
    "checker",
    "evaluate",
    "quiet_until",
    "school_hours_rule",
    "timezone_of",
]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    violations: tuple[Violation, ...]
    requirements: tuple[Requirement, ...]
    meeting: dict[str, Any]

    def requirement(self, kind: str) -> Requirement | None:
        return next((r for r in self.requirements if r.kind == kind), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "violations": [v.to_json() for v in self.violations],
            "requirements": [r.to_json() for r in self.requirements],
            "meeting": self.meeting,
        }


def _baseline(rule: str, key: str, **values: object) -> Violation:
    return Violation(
        f"chaperone.{rule}", fmt(key, **values), Source(file=BASELINE_FILE, text=BASELINE[rule], title=BASELINE_FILE)
    )


def quiet_until(profile: Profile, facts: PolicyFacts, now: datetime) -> datetime | None:
    """When the profile's quiet hours for messages to families end, if ``now`` is inside them."""
    r = profile.rule(m.QuietHoursRule)
    return None if r is None else r.until(now, timezone_of(profile, facts))


def breach_notes(profile: Profile, reason: str | None) -> list[tuple[str, Source]]:
    """The instructions the profile gives for a session ended early for ``reason``."""
    return [(r.note, profile.source_of(r)) for r in profile.rules_of(m.BreachRule) if reason in r.reasons]


def school_hours_rule(facts: PolicyFacts) -> m.HoursRule | None:
    """The school's own hours from its config, as a rule whose source is the config file."""
    h = facts.hours
    if h is None:
        return None
    return m.HoursRule(
        id="school.hours",
        kind="hours",
        days=h.days,
        start=h.start,
        end=h.end,
        sentence=school_hours(", ".join(d.value.title() for d in h.days), hhmm(h.start), hhmm(h.end)),
        file=facts.source,
    )


def timezone_of(profile: Profile, facts: PolicyFacts) -> ZoneInfo:
    return ZoneInfo(facts.timezone or profile.timezone)


def checker(profile: Profile, facts: PolicyFacts) -> Checker:
    """How rules of this profile check one pupil and cite the profile."""
    return Checker(facts, profile.source, profile.protocol)


def baseline_pupil(profile: Profile, pupil: Pupil) -> Iterator[Violation]:
    """The Chaperone baseline for one pupil: consent on record where the profile has no consent rule."""
    if profile.rule(m.ConsentRule) is None and pupil.consent is Consent.NONE:
        yield _baseline("consent", "consent_none", pupil=pupil.name)


def evaluate(profile: Profile, facts: PolicyFacts, booking: Booking, now: datetime) -> Decision:
    """Check a booking against a profile. Pure and deterministic; never raises on a valid Booking."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = timezone_of(profile, facts)
    c = Context(facts, profile.source, profile.protocol, booking, now, tz)
    findings: list[Finding] = []
    if booking.start <= now:
        findings.append(_baseline("past", "past", start=booking.start.astimezone(tz).strftime("%Y-%m-%d %H:%M")))
    if profile.rule(m.RecordingRule) is None and booking.recording:
        findings.append(_baseline("recording", "recording_unset"))
    for p in booking.pupils:
        findings.extend(baseline_pupil(profile, p))
    extra = school_hours_rule(facts)
    for rule in (*profile.rules, *((extra,) if extra else ())):
        findings.extend(rule.check(c))
    violations = tuple(f for f in findings if isinstance(f, Violation))
    requirements = tuple(f for f in findings if isinstance(f, Requirement))
    return Decision(
        allowed=not violations,
        violations=violations,
        requirements=requirements,
        meeting=meeting_settings(profile, booking),
    )
