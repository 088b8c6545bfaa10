"""Which pupils the booking form's picker offers under each profile, and the reason for those it hides."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.consent import ConsentRecord
from bot.policy.eligibility import pupil_eligibility
from bot.policy.loader import bundled
from bot.texts.policy import BASELINE
from tests.policy.helpers import SCHOOL, base, decide

RECORD: dict[str, Any] = {
    "pupil": "Pip Example",
    "parent_name": "Pat Example",
    "parent_email": "parent.pip@example.com",
    "pupil_school_email": "pip@pupils.example.org",
    "consent": "signed",
    "date": date(2026, 9, 1),
}
CHANGES: dict[str, dict[str, Any]] = {
    "signed": {},
    "implied": {"consent": "implied"},
    "none": {"consent": "none"},
    "no school email": {"pupil_school_email": None},
    "parent email is a pupil account": {"parent_email": "pip@pupils.example.org"},
}
#: profile -> record -> the rule that refuses the pupil (None: offered).
TABLE: dict[str, dict[str, str | None]] = {
    "000-two-staff": {
        "signed": None,
        "implied": "000.consent",
        "none": "000.consent",
        "no school email": None,
        "parent email is a pupil account": "000.invite-parent",
    },
    "001-recorded": {
        "signed": None,
        "implied": "001.image-consent",
        "none": "001.image-consent",
        "no school email": "001.authenticated-only",
        "parent email is a pupil account": None,
    },
    "002-lobby-two-staff": {
        "signed": None,
        "implied": None,
        "none": "002.consent-implied",
        "no school email": None,
        "parent email is a pupil account": "002.link-to-parents",
    },
    "003-crossways": {
        "signed": None,
        "implied": None,
        "none": "chaperone.consent",
        "no school email": None,
        "parent email is a pupil account": "003.invited-only",
    },
    "004-tces": {
        "signed": None,
        "implied": "004.consent-first",
        "none": "004.consent-first",
        "no school email": "004.pupil-school-account",
        "parent email is a pupil account": None,
    },
}
ROWS = [
    pytest.param(pid, case, rule, id=f"{pid}-{case}") for pid, cases in TABLE.items() for case, rule in cases.items()
]


@pytest.mark.parametrize(("pid", "case", "rule"), ROWS)
def test_picker_table(pid: str, case: str, rule: str | None) -> None:
    record = ConsentRecord.model_validate({**RECORD, **CHANGES[case]})
    e = pupil_eligibility(bundled(pid), SCHOOL.policy_facts(), record)
    assert e.accepted is (rule is None)
    assert [v.rule for v in e.refusals] == ([] if rule is None else [rule])
    if rule is None:
        assert e.reason is None
    else:
        assert e.reason and "Pip Example" in e.reason and "Ask the school office" in e.reason
        cited = {r.id: r.sentence for r in bundled(pid).rules} | {"chaperone.consent": BASELINE["consent"]}
        assert e.sources[0].text == cited[rule]


@pytest.mark.parametrize(("pid", "case", "rule"), ROWS)
def test_the_picker_agrees_with_the_engine(pid: str, case: str, rule: str | None) -> None:
    """A pupil the picker hides is one the engine refuses in a booking, for the same rule."""
    record = ConsentRecord.model_validate({**RECORD, **CHANGES[case]})
    booking = base()
    pupil = record.as_pupil().model_dump(mode="json")
    booking["pupils"] = [pupil, booking["pupils"][1]]
    refused = {v.rule for v in decide(pid, booking).violations}
    assert refused == (set() if rule is None else {rule})


def test_implied_consent_offered_under_002_says_what_it_entails() -> None:
    record = ConsentRecord.model_validate({**RECORD, "consent": "implied"})
    e = pupil_eligibility(bundled("002-lobby-two-staff"), SCHOOL.policy_facts(), record)
    assert e.accepted and e.notes == ("Pip Example's consent is implied until digital consent is recorded.",)
