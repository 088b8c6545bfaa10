"""Whether the protocol accepts a pupil at all, from their consent record (for the booking form's picker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.policy.booking import Consent, Pupil
from bot.policy.engine import baseline_pupil, checker
from bot.policy.facts import PolicyFacts
from bot.policy.findings import Requirement, Source, Violation
from bot.policy.model import Profile


class ConsentFacts(Protocol):
    """What the picker knows of a pupil: the shape of ``bot.consent.ConsentRecord``."""

    @property
    def pupil(self) -> str: ...

    @property
    def parent_email(self) -> str | None: ...

    @property
    def pupil_school_email(self) -> str | None: ...

    @property
    def consent(self) -> Consent: ...


@dataclass(frozen=True)
class Eligibility:
    """Whether the protocol accepts the pupil; if not, why (each with the rule and sentence behind it)."""

    accepted: bool
    refusals: tuple[Violation, ...] = ()
    #: What booking this pupil will entail (e.g. consent implied until digital consent arrives).
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        """The sentence(s) saying why the pupil is not offered, and what to change."""
        return " ".join(v.message for v in self.refusals) or None

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(v.source for v in self.refusals)


def pupil_eligibility(profile: Profile, facts: PolicyFacts, record: ConsentFacts) -> Eligibility:
    """Whether ``profile`` accepts this pupil in any booking, judged on what their record holds. Pure.

    Only the rules about one pupil are asked (consent, who is invited, and the Chaperone baseline
    consent); a pupil accepted here can still be refused with others, e.g. by group size.
    """
    pupil = Pupil(
        name=record.pupil,
        parent_email=record.parent_email,
        school_email=record.pupil_school_email,
        consent=record.consent,
    )
    c = checker(profile, facts)
    findings = [*baseline_pupil(profile, pupil), *(f for rule in profile.rules for f in rule.check_pupil(c, pupil))]
    refusals = tuple(f for f in findings if isinstance(f, Violation))
    notes = tuple(f.detail for f in findings if isinstance(f, Requirement))
    return Eligibility(accepted=not refusals, refusals=refusals, notes=notes)
