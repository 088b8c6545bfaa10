"""Who is told of a concern, from the profile's concern-routing rules (or the Chaperone baseline)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy.findings import Source
from bot.policy.model import ConcernRouteRule, Profile
from bot.policy.rules import ConcernRole
from bot.texts.policy import ALLEGATION_GUIDANCE, BASELINE, BASELINE_FILE, CONCERN_ROLE_NAMES

#: The routes Chaperone applies where a profile has no concern_route rule for that kind of concern.
BASELINE_ROUTES: dict[str, ConcernRouteRule] = {
    "child": ConcernRouteRule(
        id="chaperone.concern-child",
        kind="concern_route",
        about="child",
        tell=("dsl", "dsl_deputy"),
        sentence=BASELINE["concern_child"],
        file=BASELINE_FILE,
    ),
    "adult": ConcernRouteRule(
        id="chaperone.concern-adult",
        kind="concern_route",
        about="adult",
        tell=("head",),
        sentence=BASELINE["concern_adult"],
        file=BASELINE_FILE,
    ),
}


@dataclass(frozen=True)
class ConcernRoute:
    """Who to tell personally (roles in the school config) and whether the safeguarding channel may know.

    ``guidance`` holds the sentences to show with the concern (the allegations procedure, LADO
    within one working day); ``rule`` and ``source`` say which rule and sentence the route came from.
    """

    tell: tuple[ConcernRole, ...]
    channel: bool
    guidance: tuple[str, ...]
    rule: str
    source: Source
    #: The baseline sentence that moved the route away from the person the concern names, if it did.
    named: Source | None = None

    @property
    def sentence(self) -> str:
        return self.source.text


#: The kinds of concern the routing distinguishes, as keyword arguments of ``concern_route``.
CASES: dict[str, dict[str, bool]] = {
    "child": {"about_adult": False},
    "staff": {"about_adult": True},
    "head": {"about_adult": True, "names_head": True},
    "dsl": {"about_adult": True, "names_dsl": True},
}


def routing(profile: Profile) -> list[tuple[str, ConcernRoute]]:
    """The route of each kind of concern (see ``CASES``) under this profile."""
    return [(case, concern_route(profile, **kwargs)) for case, kwargs in CASES.items()]


def tell_in_words(route: ConcernRoute) -> str:
    return " and ".join(CONCERN_ROLE_NAMES[t] for t in route.tell)


def route_rule(profile: Profile, about: str) -> ConcernRouteRule:
    """The profile's routing rule for a concern about a 'child' (or family) or an 'adult'."""
    own = next((r for r in profile.rules_of(ConcernRouteRule) if r.about == about), None)
    return own or BASELINE_ROUTES[about]


def concern_route(
    profile: Profile, *, about_adult: bool, names_head: bool = False, names_dsl: bool = False
) -> ConcernRoute:
    """Who is told of a concern. Pure.

    A concern that names the headteacher or the DSL is a concern about an adult. A concern about
    an adult never goes to the safeguarding channel and carries the allegations guidance. A concern
    naming the DSL bypasses the DSL and deputies; one naming the headteacher goes to the chair of
    governors instead of the head. Nobody left to tell falls back to the head (or the chair).
    """
    adult = about_adult or names_head or names_dsl
    rule = route_rule(profile, "adult" if adult else "child")
    tell: list[ConcernRole] = list(rule.tell)
    if names_dsl:
        tell = [t for t in tell if t not in ("dsl", "dsl_deputy")]
    if names_head:
        tell = ["chair" if t == "head" else t for t in tell]
    if not tell:
        tell = ["chair" if names_head else "head"]
    moved = tuple(tell) != rule.tell
    return ConcernRoute(
        named=Source(file=BASELINE_FILE, text=BASELINE["concern_named"], title=BASELINE_FILE) if moved else None,
        tell=tuple(dict.fromkeys(tell)),
        channel=not adult,
        guidance=ALLEGATION_GUIDANCE if adult else (),
        rule=rule.id,
        source=profile.source_of(rule),
    )
