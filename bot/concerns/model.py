"""The Concern record: what a DSL asks for (KCSIE; CPOMS and MyConcern guidance), stored in full."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.chat import CardRef
from bot.jobs import Owed

class Concern(Owed):
    model_config = ConfigDict(extra="forbid")

    ref: str
    pupil: str = Field(min_length=1, max_length=120)
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
