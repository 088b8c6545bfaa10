"""The case of a concern: entries the DSL adds, in order, never changed (KCSIE: decisions and their reasons in writing).

Each entry is inserted under ``<ref>:<nnn>``; an insert never overwrites (a race for the same
number is retried with the next), and this module offers no way to change or remove one except
retention's deletion of the whole case.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import Conflict
from bot.store.base import Store
from bot.texts import concerns as concern_texts

TABLE = "case_entries"
Kind = Literal["acknowledged", "decision", "action", "referral", "outcome", "transferred", "linked", "note"]


class CaseEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str  # the concern's reference
    seq: int = 0
    kind: Kind
    at: datetime
    by: str  # actor key (AAD object id), never a name
    by_name: str
    text: str = Field(default="", max_length=5000)  # decision and reason, action, outcome, note
    agency: str = Field(default="", max_length=120)  # referral: to whom
    agency_ref: str = Field(default="", max_length=120)  # referral: their reference
    on: date | None = None  # referral made / transferred on
    system: str = Field(default="", max_length=120)  # transferred to (CPOMS, MyConcern, ...)
    pupil_key: str = ""  # linked: the registry key a free-text pupil was linked to
    day: str = ""

    @property
    def key(self) -> str:
        return f"{self.ref}:{self.seq:03d}"


class Case:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def entries(self, ref: str) -> list[CaseEntry]:
        found = [CaseEntry.model_validate(r.doc) for r in await self._store.query(TABLE, {"ref": ref})]
        return sorted(found, key=lambda e: e.seq)

    async def add(self, entry: CaseEntry) -> CaseEntry:
        """Append after the last entry; never overwrites (Conflict on a race: take the next number)."""
        for _ in range(10):
            seq = max((e.seq for e in await self.entries(entry.ref)), default=0) + 1
            numbered = entry.model_copy(update={"seq": seq, "day": entry.at.date().isoformat()})
            try:
                await self._store.insert(TABLE, numbered.key, numbered.model_dump(mode="json"))
                return numbered
            except Conflict:
                continue
        raise Conflict(concern_texts.case_busy(entry.ref))

    async def linked(self) -> list[CaseEntry]:
        return [CaseEntry.model_validate(r.doc) for r in await self._store.query(TABLE, {"kind": "linked"})]

    async def delete_all(self, ref: str) -> int:
        """Retention only: the whole case goes with its concern."""
        entries = await self.entries(ref)
        for e in entries:
            await self._store.delete(TABLE, e.key)
        return len(entries)
