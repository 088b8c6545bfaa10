"""The concerns table: typed access to Concern records with optimistic concurrency."""

from __future__ import annotations

from typing import Any

from bot.concerns.model import Concern
from bot.store.records import Records

TABLE = "concerns"


class Concerns(Records[Concern]):
    table, prefix, noun = TABLE, "C", "concern"

    def _load(self, doc: dict[str, Any]) -> Concern:
        return Concern.model_validate(doc)

    async def all(self) -> list[Concern]:
        return await self._query()

    async def unacknowledged(self) -> list[Concern]:
        return await self._query({"open": True})

    async def unposted(self) -> list[Concern]:
        return await self._query({"open": True, "alert_posted": False})
