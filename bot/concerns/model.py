"""The Concern record: what a DSL asks for (KCSIE; CPOMS and MyConcern guidance), stored in full."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.chat import CardRef
from bot.jobs import Owed

About = Literal["child", "staff", "head", "dsl"]


class Notice(BaseModel):
    """A personal message about a concern: to whom (AAD id), when, and which card (for the count of reminders)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    aad_id: str
    at: datetime
    card: CardRef | None = None


class Concern(Owed):
    """What was raised, never edited afterwards; the DSL's work on it is the case (bot.concerns.case).

    The delivery bookkeeping (alert posted, notices sent, acknowledged, escalated) is the only part
    written after the concern is stored."""

    model_config = ConfigDict(extra="forbid")

    ref: str
    pupil: str = Field(min_length=1, max_length=600)  # the names as raised, for the DSL's detail card
    #: Consent-registry keys of the pupils picked from the registry (stable, see bot.consent).
    pupil_keys: list[str] = Field(default_factory=list)
    #: Names typed because the pupil was not listed: the DSL links them to a registry key later (a case entry).
    unlinked: str = Field(default="", max_length=600)
    about: About = "child"
    #: The route it took (bot.concerns.routing): roles told personally, whether the channel may see it, the rule.
    tell: list[str] = Field(default_factory=lambda: ["dsl", "dsl_deputy"])
    to_channel: bool = True
    rule_id: str = ""
    #: The protocol sentence (or Chaperone baseline) the route came from, quoted on the notice.
    route_sentence: str = ""
    guidance: list[str] = Field(default_factory=list)
    notices: list[Notice] = Field(default_factory=list)
    session_ref: str | None = None
    category: str
    what: str = Field(min_length=1, max_length=10000)  # what was seen or heard
    child_words: str = Field(default="", max_length=10000)  # the child's own words
    when: datetime
    where: str = Field(default="", max_length=500)
    action_taken: str = Field(default="", max_length=5000)
    session_ended: bool = False
    immediate_risk: bool = False
    raised_by: str  # actor key (AAD object id)
    raised_by_name: str
    raised_by_email: str | None = None
    raised_at: datetime
    acknowledged_by: str | None = None
    acknowledged_by_name: str | None = None
    acknowledged_at: datetime | None = None
    alert_card: CardRef | None = None
    alert_posted: bool = False
    escalated_at: datetime | None = None
    # store hints (bounded partitions): a concern stays hot until acknowledged
    open: bool = True
    day: str = ""

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
