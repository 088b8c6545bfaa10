"""Every rule of every bundled profile: a booking that breaks only that rule is refused with that
rule's id and sentence; rules that cannot be broken show their requirement or meeting setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.policy.booking import Booking
from bot.policy.describe import AREAS
from bot.policy.loader import _UNION_TAGS, bundled, bundled_ids
from bot.policy.model import KINDS, RULE_CLASSES, SINGLE_KINDS, normalise_sentence
from bot.texts.policy import BASELINE, BASELINE_FILE
from tests.policy.helpers import NOW, base, decide

SEEDS = Path(__file__).resolve().parents[1] / "data" / "seeds"
PROFILES = ["000-two-staff", "001-recorded", "002-lobby-two-staff", "003-crossways", "004-tces"]

Mutation = Callable[[Any, dict[str, Any]], Any]


def _saturday(rule: Any, b: dict[str, Any]) -> None:
    b["start"] = "2026-11-28T10:00:00+00:00"


def _notice(rule: Any, b: dict[str, Any]) -> Any:
    start = Booking.model_validate(b).start
    return start - timedelta(minutes=rule.min_minutes / 2)


def _long(rule: Any, b: dict[str, Any]) -> None:
    b["duration_minutes"] = rule.max_minutes + 15


def _one_to_one(rule: Any, b: dict[str, Any]) -> None:
    b["type"], b["pupils"], b["reason"] = "one_to_one", b["pupils"][:1], "lesson"


def _small_group(rule: Any, b: dict[str, Any]) -> None:
    b["pupils"] = b["pupils"][:1]
    b["reason"] = "music"  # a reason 1:1 rules accept, so only the group size is broken


def _wrong_adult(rule: Any, b: dict[str, Any]) -> None:
    role = next(r for r in ("parent", "staff", "slt") if r not in {q.value for q in rule.qualifies})
    b["second_adult"] = {"name": "Rowan Helper", "email": "rowan.helper@example.org", "role": role}


def _no_consent(rule: Any, b: dict[str, Any]) -> None:
    b["pupils"][0]["consent"] = "none"


def _personal_account(rule: Any, b: dict[str, Any]) -> None:
    b["organiser"]["email"] = "tara.teacher@mail.example.com"


def _no_invitee(rule: Any, b: dict[str, Any]) -> None:
    b["pupils"][0].pop("parent_email" if rule.to == "parent_email" else "school_email")


def _recording(rule: Any, b: dict[str, Any]) -> None:
    b["recording"] = rule.mode != "automatic"


def _chat(rule: Any, b: dict[str, Any]) -> None:
    b["chat"] = True


BREAKERS: dict[str, Mutation] = {
    "hours": _saturday,
    "notice": _notice,
    "duration": _long,
    "one_to_one": _one_to_one,
    "group_size": _small_group,
    "second_adult": _wrong_adult,
    "consent": _no_consent,
    "staff_account": _personal_account,
    "invite": _no_invitee,
    "recording": _recording,
    "chat": _chat,
}


#: Kinds no booking can break: each shows its requirement or meeting setting (see below).
SHOWN_NOT_BROKEN = {
    "quiet_hours",
    "copy_slt",
    "tell_parents",
    "lobby",
    "presenters",
    "microphones",
    "cameras",
    "breach",
    "concern_route",
}


def test_every_kind_is_checked_described_and_broken_here_or_listed_as_unbreakable() -> None:
    assert set(KINDS) == set(BREAKERS) | SHOWN_NOT_BROKEN and not set(BREAKERS) & SHOWN_NOT_BROKEN
    assert {k for k, cls in KINDS.items() if cls.unbreakable} == SHOWN_NOT_BROKEN
    assert [k for k, _ in AREAS] == list(KINDS)
    for cls in RULE_CLASSES:
        assert "check" in vars(cls) and "summary" in vars(cls) and cls.area, cls.__name__
    assert set(_UNION_TAGS) == set(KINDS) and SINGLE_KINDS <= set(KINDS)


def _breakable(rule: Any) -> bool:
    if rule.kind == "recording":
        return rule.mode != "slt_approval"
    if rule.kind == "chat":
        return rule.mode == "disabled"
    if rule.kind == "one_to_one":
        return not rule.allowed or rule.reasons is not None
    return rule.kind in BREAKERS


CASES = [pytest.param(pid, r, id=r.id) for pid in PROFILES for r in bundled(pid).rules if _breakable(r)]
UNBREAKABLE = [pytest.param(pid, r, id=r.id) for pid in PROFILES for r in bundled(pid).rules if not _breakable(r)]


def test_bundled_ids() -> None:
    assert bundled_ids() == PROFILES


@pytest.mark.parametrize("pid", PROFILES)
def test_compliant_booking_is_allowed(pid: str) -> None:
    decision = decide(pid, base())
    assert decision.allowed, decision.violations
    assert decision.violations == ()


@pytest.mark.parametrize(("pid", "rule"), CASES)
def test_breaking_only_this_rule_is_refused_with_its_sentence(pid: str, rule: Any) -> None:
    booking = base()
    now = BREAKERS[rule.kind](rule, booking) or NOW
    decision = decide(pid, booking, now)
    assert not decision.allowed
    assert {v.rule for v in decision.violations} == {rule.id}
    v = decision.violations[0]
    assert v.source.text == rule.sentence
    assert v.source.file == bundled(pid).source
    assert v.message and "{" not in v.message


def _requirement_or_setting(pid: str, rule: Any) -> None:
    booking = base()
    if rule.kind == "recording":  # slt_approval
        booking["recording"] = True
        d = decide(pid, booking)
        assert d.allowed and d.requirement("recording_approval").rule == rule.id
        assert d.meeting["allowRecording"] is False  # not until SLT approve
        return
    if rule.kind == "chat":  # during_session
        booking["chat"] = True
        d = decide(pid, booking)
        assert d.allowed and d.meeting["allowMeetingChat"] == "limited"
        return
    if rule.kind == "one_to_one":
        _one_to_one(rule, booking)
        assert decide(pid, booking).allowed
        return
    if rule.kind == "quiet_hours":
        d = decide(pid, booking, NOW.replace(hour=19))
        assert d.requirement("hold_messages").rule == rule.id
        assert decide(pid, booking, NOW.replace(hour=12)).requirement("hold_messages") is None
        return
    if rule.kind == "tell_parents":
        if rule.when == "group":
            assert rule.note not in [
                r.detail
                for r in decide(
                    pid, {**booking, "pupils": booking["pupils"][:1], "type": "one_to_one", "reason": "music"}
                ).requirements
            ]
        assert rule.note in [r.detail for r in decide(pid, booking).requirements if r.kind == "tell_parents"]
        return
    if rule.kind == "breach":
        from bot.policy.engine import breach_notes

        for reason in rule.reasons:
            assert (rule.note, bundled(pid).source_of(rule)) in breach_notes(bundled(pid), reason)
        assert breach_notes(bundled(pid), "technical") == [] or "technical" in rule.reasons
        return
    if rule.kind == "concern_route":
        from bot.policy.concerns import concern_route

        route = concern_route(bundled(pid), about_adult=rule.about == "adult")
        assert route.rule == rule.id and route.tell == rule.tell and route.channel is (rule.about == "child")
        return
    if rule.kind == "copy_slt":
        assert decide(pid, booking).requirement("copy_slt").rule == rule.id
        return
    meeting = decide(pid, booking).meeting
    expected = {
        "lobby": lambda: (
            meeting["lobbyBypassSettings"]["scope"] == rule.bypass
            and meeting["allowedLobbyAdmitters"] == rule.admitters
        ),
        "presenters": lambda: meeting["allowedPresenters"] == rule.who,
        "microphones": lambda: meeting["allowAttendeeToEnableMic"] is rule.attendees_may_unmute,
        "cameras": lambda: meeting["allowAttendeeToEnableCamera"] is rule.attendees_may_enable,
        "second_adult": lambda: True,
    }[rule.kind]
    assert expected()


@pytest.mark.parametrize(("pid", "rule"), UNBREAKABLE)
def test_rule_that_cannot_be_broken_shows_its_effect(pid: str, rule: Any) -> None:
    if rule.kind == "second_adult":  # required "never": a parent on another device is a requirement
        booking = base()
        booking["second_adult"] = {"name": "Pat Parent", "email": "pat.parent@example.com", "role": "parent"}
        d = decide(pid, booking)
        assert d.allowed and d.requirement("parent_supervises").rule == rule.id
        return
    _requirement_or_setting(pid, rule)


@pytest.mark.parametrize("pid", PROFILES)
def test_every_sentence_is_quoted_exactly_from_its_seed(pid: str) -> None:
    profile = bundled(pid)
    seed = normalise_sentence((SEEDS / profile.source).read_text(encoding="utf-8"))
    for item in (*profile.rules, *profile.checklist):
        if item.file == BASELINE_FILE:  # where the seed is silent: a Chaperone baseline sentence
            assert item.sentence in BASELINE.values(), item.sentence
            continue
        assert normalise_sentence(item.sentence) in seed, item.sentence
    for sentence in profile.not_enforced:
        assert normalise_sentence(sentence) in seed, sentence


@pytest.mark.parametrize("pid", PROFILES)
def test_each_profile_names_its_protocol_by_the_seed_title(pid: str) -> None:
    profile = bundled(pid)
    seed = normalise_sentence((SEEDS / profile.source).read_text(encoding="utf-8"))
    assert profile.title and normalise_sentence(profile.title) in seed
    assert profile.source_of(profile.rules[0]).name == profile.title


@pytest.mark.parametrize("pid", PROFILES)
def test_every_profile_has_checklists_for_each_moment(pid: str) -> None:
    whens = {c.when for c in bundled(pid).checklist}
    assert {"before", "during", "after"} <= whens


def test_every_violation_is_reported_not_just_the_first() -> None:
    booking = base()
    booking["chat"] = True
    booking["recording"] = True
    booking["pupils"][0]["consent"] = "none"
    booking["pupils"][1]["consent"] = "implied"
    rules = [v.rule for v in decide("000-two-staff", booking).violations]
    assert rules.count("000.consent") == 2 and "000.chat-off" in rules and "000.no-recording" in rules


def test_past_booking_is_refused_by_the_baseline() -> None:
    d = decide("003-crossways", base(), NOW + timedelta(days=3))
    assert [v.rule for v in d.violations] == ["chaperone.past"]
    assert d.violations[0].source.file == "Chaperone baseline"


def test_recording_where_the_protocol_is_silent_is_refused() -> None:
    booking = base()
    booking["recording"] = True
    assert [v.rule for v in decide("003-crossways", booking).violations] == ["chaperone.recording"]


def test_second_adult_requirement_names_who_qualifies() -> None:
    req = decide("000-two-staff", base()).requirement("second_adult")
    assert req is not None and req.data["qualifies"] == ["slt"] and "SLT" in req.detail


def test_slt_second_adult_must_be_on_the_slt_list() -> None:
    booking = base()
    booking["second_adult"] = {"name": "Rowan Helper", "email": "rowan.helper@example.org", "role": "slt"}
    assert [v.rule for v in decide("000-two-staff", booking).violations] == ["000.second-adult"]
    booking["second_adult"]["email"] = "sam.senior@example.org"
    assert decide("000-two-staff", booking).allowed


def test_parent_email_on_a_pupil_account_is_refused() -> None:
    booking = base()
    booking["pupils"][0]["parent_email"] = "pip@pupils.example.org"
    assert [v.rule for v in decide("000-two-staff", booking).violations] == ["000.invite-parent"]


def test_implied_consent_is_a_pending_requirement_where_accepted() -> None:
    booking = base()
    booking["pupils"][1]["consent"] = "implied"
    d = decide("002-lobby-two-staff", booking)
    assert d.allowed and d.requirement("consent_pending").data == {"pupil": "Quinn Example"}
    assert not decide("000-two-staff", booking).allowed


def test_a_group_of_one_is_a_one_to_one_for_the_one_to_one_rules() -> None:
    booking = base()
    booking["pupils"] = booking["pupils"][:1]
    assert [v.rule for v in decide("002-lobby-two-staff", booking).violations] == ["002.one-to-one-reasons"]


def test_school_hours_from_config_narrow_the_profile() -> None:
    from bot.config import SchoolConfig
    from bot.policy.engine import evaluate
    from tests.policy.helpers import SCHOOL

    data = SCHOOL.model_dump()
    data["school"]["hours"] = {"start": "09:00:00", "end": "10:30:00"}
    school = SchoolConfig.model_validate(data)
    d = evaluate(bundled("003-crossways"), school.policy_facts(), Booking.model_validate(base()), NOW)
    assert [v.rule for v in d.violations] == ["school.hours"]


def test_no_consent_on_record_is_refused_even_where_the_protocol_is_silent() -> None:
    booking = base()
    booking["pupils"][0]["consent"] = "none"
    d = decide("003-crossways", booking)
    assert [v.rule for v in d.violations] == ["chaperone.consent"] and "Pip Example" in d.violations[0].message
    booking["pupils"][0]["consent"] = "implied"
    assert decide("003-crossways", booking).allowed


def test_every_refusal_says_what_to_change() -> None:
    from bot.texts.policy import MESSAGES

    refusals = {k: v for k, v in MESSAGES.items() if not k.startswith("req_")}
    verbs = ("Choose", "Shorten", "Book", "Add", "Remove", "Enter", "Ask", "Sign in", "Turn", "Leave", "If the session")
    for key, message in refusals.items():
        last = re.split(r"(?<=\.) ", message)[-1]
        assert last.startswith(verbs), (key, message)
