"""Typed records with human references (S-XXXXXX, C-XXXXXX) over a Store, with optimistic concurrency."""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from bot import texts
from bot.errors import Conflict, NotFound
from bot.jobs import keyed_ref
from bot.store.base import Record, Store

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone


def new_ref(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


class _Referenced(Protocol):
    ref: str

    def to_doc(self) -> dict[str, Any]: ...


M = TypeVar("M", bound=_Referenced)


class Records(Generic[M]):
    """``add`` under a fresh reference, ``get`` with its etag, ``update`` read-modify-write with retry."""

    table: str
    prefix: str
    noun: str

    def __init__(self, store: Store) -> None:
        self._store = store

    def _load(self, doc: dict[str, Any]) -> M:
        raise NotImplementedError

    async def add(self, make: Callable[[str], M]) -> M:
        """Store a new record under a fresh reference (retrying the rare collision)."""
        for _ in range(5):
            record = make(new_ref(self.prefix))
            try:
                await self._store.insert(self.table, record.ref, record.to_doc())
                return record
            except Conflict:
                continue
        raise Conflict(texts.REF_EXHAUSTED.format(noun=self.noun))

    async def add_once(self, key: str, make: Callable[[str], M]) -> tuple[M, bool]:
        """Store a new record made by the user action ``key`` once: its reference is derived from the
        key, so a retry after a crash (or a double click) finds the record instead of making another.
        ``make`` must set the record's ``origin`` to ``key``. Returns (record, created)."""
        for probe in range(8):
            ref = keyed_ref(self.prefix, key, probe)
            for _ in range(2):
                # insert first (one round trip for a new action); only a refused insert reads what is there
                record = make(ref)
                try:
                    await self._store.insert(self.table, ref, record.to_doc())
                    return record, True
                except Conflict:
                    pass
                existing = await self._store.get(self.table, ref)
                if existing is not None:
                    if existing.doc.get("origin") == key:
                        return self._load(existing.doc), False
                    break  # another action's record holds this reference: probe the next one
                # gone again since the refused insert (deleted): try the insert once more
        raise Conflict(texts.REF_EXHAUSTED.format(noun=self.noun))

    def loaded(self, rec: Record) -> tuple[M, str]:
        """A stored record (as read, or as returned by a write) as the typed record and its etag."""
        return self._load(dict(rec.doc)), rec.etag

    async def get(self, ref: str) -> tuple[M, str]:
        rec = await self._store.get(self.table, ref.strip().upper())
        if rec is None:
            # echo only what looks like a reference: typed text can be a pupil's name, in a channel
            shown = (
                ref.strip().upper()
                if re.fullmatch(r"[A-Z]-[A-Z0-9]{4,12}", ref.strip().upper())
                else texts.NO_RECORD_UNSHOWN
            )
            raise NotFound(texts.NO_RECORD.format(noun=self.noun, ref=shown))
        return self._load(rec.doc), rec.etag

    async def update(self, ref: str, change: Callable[[M], Awaitable[None] | None], *, attempts: int = 5) -> M:
        """Read-modify-write, retried when someone else wrote first; ``change`` may raise to abort."""
        return (await self.change(ref, change, attempts=attempts))[0]

    async def change(
        self, ref: str, change: Callable[[M], Awaitable[None] | None], *, attempts: int = 5, known: Record | None = None
    ) -> tuple[M, Record]:
        """:meth:`update`, also returning what was written (with its new etag). ``known`` is the
        record as the caller itself last wrote it: the first attempt starts from it instead of
        reading; if anyone wrote since, its etag is stale, the write is refused and the record is
        read again, as after any lost race."""
        for attempt in range(attempts):
            if known is not None:
                record, etag = self.loaded(known)
                known = None
            else:
                record, etag = await self.get(ref)
            result = change(record)
            if result is not None:
                await result
            try:
                written = await self._store.replace(self.table, record.ref, record.to_doc(), etag=etag)
                return record, written
            except Conflict:
                # several writers on one record (a turn and the outbox's jobs): a short random
                # pause lets the others finish instead of colliding again at once
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise Conflict(texts.RECORD_BUSY.format(noun=self.noun.capitalize(), ref=ref))

    async def _query(self, where: dict[str, Any] | None = None, days: tuple[str, str] | None = None) -> list[M]:
        return [self._load(r.doc) for r in await self._store.query(self.table, where, days=days)]
