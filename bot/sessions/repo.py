"""The sessions table: typed access with optimistic concurrency (etags) for first-accept-wins."""

from __future__ import annotations

from typing import Awaitable, Callable

from bot.errors import Conflict, NotFound
from bot.sessions.model import Session, State, new_ref
from bot.store.base import Store

TABLE = "sessions"


class Sessions:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, make: Callable[[str], Session]) -> Session:
        """Store a new session under a fresh reference (retrying the rare collision)."""
        for _ in range(5):
            session = make(new_ref())
            try:
                await self._store.insert(TABLE, session.ref, session.to_doc())
                return session
            except Conflict:
                continue
        raise Conflict("Could not allocate a session reference; please try again.")

    async def get(self, ref: str) -> tuple[Session, str]:
        rec = await self._store.get(TABLE, ref.strip().upper())
        if rec is None:
            raise NotFound(f"There is no session {ref}.")
        return Session.from_doc(rec.doc), rec.etag

    async def save(self, session: Session, etag: str) -> str:
        """Write if nobody else did since ``etag`` was read; raises Conflict otherwise."""
        rec = await self._store.replace(TABLE, session.ref, session.to_doc(), etag=etag)
        return rec.etag

    async def update(self, ref: str, change: Callable[[Session], Awaitable[None] | None], *, attempts: int = 5) -> Session:
        """Read-modify-write with retry on Conflict; ``change`` may raise to abort."""
        for _ in range(attempts):
            session, etag = await self.get(ref)
            result = change(session)
            if result is not None:
                await result
            try:
                await self.save(session, etag)
                return session
            except Conflict:
                continue
        raise Conflict(f"Session {ref} is busy; please try again.")

    async def open_sessions(self, state: State | None = None) -> list[Session]:
        where: dict[str, object] = {"open": True}
        if state is not None:
            where["state"] = state.value
        return [Session.from_doc(r.doc) for r in await self._store.query(TABLE, where)]

    async def all(self) -> list[Session]:
        """Every session ever: reads all history (exports only)."""
        return [Session.from_doc(r.doc) for r in await self._store.query(TABLE)]

    async def on_days(self, first: str, last: str) -> list[Session]:
        """Sessions whose day lies in [first, last] (ISO dates): reads only those months."""
        return [Session.from_doc(r.doc) for r in await self._store.query(TABLE, days=(first, last))]
