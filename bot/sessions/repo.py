"""The sessions table: typed access with optimistic concurrency (etags) for first-accept-wins."""

from __future__ import annotations

from typing import Any

from bot.sessions.model import Session, State
from bot.store.records import Records

TABLE = "sessions"


class Sessions(Records[Session]):
    table, prefix, noun = TABLE, "S", "session"

    def _load(self, doc: dict[str, Any]) -> Session:
        return Session.from_doc(doc)

    async def open_sessions(self, state: State | None = None) -> list[Session]:
        where: dict[str, Any] = {"open": True}
        if state is not None:
            where["state"] = state.value
        return await self._query(where)

    async def all(self) -> list[Session]:
        """Every session ever: reads all history (exports only)."""
        return await self._query()

    async def on_days(self, first: str, last: str) -> list[Session]:
        """Sessions whose day lies in [first, last] (ISO dates): reads only those months."""
        return await self._query(days=(first, last))
