"""Who is told of a concern (a local stand-in with the shape of the policy helper's ``concern_route``).

Until the policy package's concern-routing rule lands, this function answers for every profile:
a concern about a child or family goes to the DSL and deputies and may be alerted (reference only)
in the safeguarding channel; a concern about an adult in the session goes to the headteacher only,
or the chair of governors when it names the head, never to the channel, with the allegations
guidance (LADO within one working day); a concern naming the DSL never reaches the DSL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import texts

if TYPE_CHECKING:
    from bot.policy.model import Profile

TOLD = ("dsl", "dsl_deputy", "head", "chair")


@dataclass(frozen=True)
class ConcernRoute:
    tell: tuple[str, ...]  # role names told personally, among TOLD
    channel: bool  # whether the safeguarding channel may be alerted (reference only)
    guidance: tuple[str, ...]
    rule_id: str
    sentence: str


def concern_route(profile: Profile, *, about_adult: bool, names_head: bool, names_dsl: bool) -> ConcernRoute:
    """The route for one concern under a profile (the same for every profile until policy data says otherwise)."""
    if names_head:
        return ConcernRoute(("chair",), False, (texts.ALLEGATION_GUIDANCE,), "concern-route-allegation-head", texts.ROUTE_SENTENCE_HEAD)
    if about_adult or names_dsl:
        return ConcernRoute(("head",), False, (texts.ALLEGATION_GUIDANCE,), "concern-route-allegation", texts.ROUTE_SENTENCE_ADULT)
    return ConcernRoute(("dsl", "dsl_deputy"), True, (), "concern-route-child", texts.ROUTE_SENTENCE_CHILD)
