"""Safeguarding concerns: the record a DSL asks for (KCSIE; CPOMS and MyConcern guidance), stored in full."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import Conflict, NotFound
from bot.sessions.model import CardRef
from bot.store.base import Store

TABLE = "concerns"
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_ref() -> str:
    return "C-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


class Concern(BaseModel):
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


class Concerns:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, make: Any) -> Concern:
        for _ in range(5):
            concern: Concern = make(new_ref())
            try:
                await self._store.insert(TABLE, concern.ref, concern.to_doc())
                return concern
            except Conflict:
                continue
        raise Conflict("Could not allocate a concern reference; please try again.")

    async def get(self, ref: str) -> tuple[Concern, str]:
        rec = await self._store.get(TABLE, ref.strip().upper())
        if rec is None:
            raise NotFound(f"There is no concern {ref}.")
        return Concern.model_validate(rec.doc), rec.etag

    async def update(self, ref: str, change: Any, *, attempts: int = 5) -> Concern:
        for _ in range(attempts):
            concern, etag = await self.get(ref)
            change(concern)
            try:
                await self._store.replace(TABLE, concern.ref, concern.to_doc(), etag=etag)
                return concern
            except Conflict:
                continue
        raise Conflict(f"Concern {ref} is busy; please try again.")

    async def all(self) -> list[Concern]:
        return [Concern.model_validate(r.doc) for r in await self._store.query(TABLE)]

    async def unacknowledged(self) -> list[Concern]:
        return [Concern.model_validate(r.doc) for r in await self._store.query(TABLE, {"open": True})]

    async def unposted(self) -> list[Concern]:
        return [Concern.model_validate(r.doc) for r in await self._store.query(TABLE, {"open": True, "alert_posted": False})]
