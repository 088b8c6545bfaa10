"""Concern routing per bundled profile: who is told, whether the safeguarding channel may know, and why."""

from __future__ import annotations

import pytest

from bot.policy.concerns import ConcernRoute, concern_route
from bot.policy.loader import bundled, parse_profile
from bot.texts.policy import ALLEGATION_GUIDANCE, BASELINE, BASELINE_FILE

CHILD, STAFF, HEAD, DSL = "child", "staff", "head", "dsl"
CASES = {
    CHILD: {"about_adult": False},
    STAFF: {"about_adult": True},
    HEAD: {"about_adult": True, "names_head": True},
    DSL: {"about_adult": True, "names_dsl": True},
}
TEAM = ("dsl", "dsl_deputy")

#: profile -> concern -> (who is told, rule id)
TABLE: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "000-two-staff": {
        CHILD: (TEAM, "000.concern-child"),
        STAFF: (("head",), "000.concern-adult"),
        HEAD: (("chair",), "000.concern-adult"),
        DSL: (("head",), "000.concern-adult"),
    },
    "001-recorded": {
        CHILD: (TEAM, "001.concern-child"),
        STAFF: (("head",), "001.concern-adult"),
        HEAD: (("chair",), "001.concern-adult"),
        DSL: (("head",), "001.concern-adult"),
    },
    "002-lobby-two-staff": {
        CHILD: (("head",), "002.concern-child"),
        STAFF: (("head",), "002.concern-staff"),
        HEAD: (("chair",), "002.concern-staff"),
        DSL: (("head",), "002.concern-staff"),
    },
    "003-crossways": {
        CHILD: (TEAM, "003.concern-child"),
        STAFF: (("head",), "003.concern-staff"),
        HEAD: (("chair",), "003.concern-staff"),
        DSL: (("head",), "003.concern-staff"),
    },
    "004-tces": {
        CHILD: (TEAM, "004.concern-child"),
        STAFF: (("head",), "004.concern-adult"),
        HEAD: (("chair",), "004.concern-adult"),
        DSL: (("head",), "004.concern-adult"),
    },
}


def profile_tell(pid: str, rule: str) -> tuple[str, ...]:
    return next(r.tell for r in bundled(pid).rules if r.id == rule)  # type: ignore[union-attr]


ROWS = [
    pytest.param(pid, case, *want, id=f"{pid}-{case}") for pid, cases in TABLE.items() for case, want in cases.items()
]


@pytest.mark.parametrize(("pid", "case", "tell", "rule"), ROWS)
def test_routing_table(pid: str, case: str, tell: tuple[str, ...], rule: str) -> None:
    route = concern_route(bundled(pid), **CASES[case])  # type: ignore[arg-type]
    assert route.tell == tell
    assert route.rule == rule
    assert route.channel is (case == CHILD)
    assert route.guidance == (() if case == CHILD else ALLEGATION_GUIDANCE)
    assert (route.named is not None) is (
        route.tell != profile_tell(pid, rule)
    )  # moved by the baseline only when it had to
    profile_rule = next(r for r in bundled(pid).rules if r.id == rule)
    assert route.sentence == profile_rule.sentence == route.source.text


def test_under_002_a_concern_about_a_child_goes_to_the_headteacher_as_its_sentence_says() -> None:
    route = concern_route(bundled("002-lobby-two-staff"), about_adult=False)
    assert route.tell == ("head",) and route.channel
    assert route.sentence == (
        "If a staff member has a safeguarding or conduct concern about a child or parent they will inform the headteacher immediately and record it on CPOMS."
    )
    assert route.source.file == "002_f1e5f53fe1167d80.txt"
    assert route.source.name == "Use of Zoom/ Microsoft Teams for live sessions with pupils"


@pytest.mark.parametrize("pid", list(TABLE))
def test_a_concern_about_an_adult_never_reaches_the_safeguarding_channel(pid: str) -> None:
    for names_head in (False, True):
        for names_dsl in (False, True):
            route = concern_route(bundled(pid), about_adult=True, names_head=names_head, names_dsl=names_dsl)
            assert not route.channel
            assert any("LADO" in g and "one working day" in g for g in route.guidance)
            if names_dsl:
                assert not set(route.tell) & set(TEAM)
            if names_head:
                assert "head" not in route.tell and "chair" in route.tell


@pytest.mark.parametrize("pid", ["000-two-staff", "001-recorded", "004-tces"])
def test_where_the_seed_is_silent_the_baseline_sentence_is_cited(pid: str) -> None:
    route = concern_route(bundled(pid), about_adult=True)
    assert route.source.file == BASELINE_FILE and route.sentence == BASELINE["concern_adult"]


MINIMAL = """\
id = "own"
name = "Our own"
source = "ours.txt"

[[rules]]
id = "own.chat"
kind = "chat"
mode = "disabled"
sentence = "No chat."
"""


def test_a_profile_without_routing_rules_gets_the_baseline() -> None:
    profile = parse_profile(MINIMAL)
    child: ConcernRoute = concern_route(profile, about_adult=False)
    assert child.tell == TEAM and child.channel and child.rule == "chaperone.concern-child"
    assert child.source.file == BASELINE_FILE
    assert concern_route(profile, about_adult=False, names_dsl=True).tell == ("head",)
    assert concern_route(profile, about_adult=True).tell == ("head",)


def test_a_school_routing_a_child_concern_to_the_dsl_only_bypasses_a_named_dsl() -> None:
    text = (
        MINIMAL
        + '\n[[rules]]\nid = "own.adult"\nkind = "concern_route"\nabout = "adult"\ntell = ["dsl", "head"]\nsentence = "Tell the DSL and the head."\n'
    )
    profile = parse_profile(text)
    assert concern_route(profile, about_adult=True).tell == ("dsl", "head")
    assert concern_route(profile, about_adult=True, names_dsl=True).tell == ("head",)
    assert concern_route(profile, about_adult=True, names_dsl=True, names_head=True).tell == ("chair",)


def test_two_routes_for_the_same_concern_are_refused() -> None:
    from bot.policy.loader import ProfileInvalid

    rule = '\n[[rules]]\nid = "own.{n}"\nkind = "concern_route"\nabout = "child"\ntell = ["dsl"]\nsentence = "Tell the DSL."\n'
    with pytest.raises(ProfileInvalid, match="more than one concern_route"):
        parse_profile(MINIMAL + rule.format(n=1) + rule.format(n=2))
