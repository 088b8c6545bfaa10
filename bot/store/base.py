"""The Store protocol: a small keyed document store with optimistic concurrency.

Tables used by the bot: ``sessions``, ``submissions``, ``meetings``, ``conversations``,
``consents``, ``concerns``, ``audit`` (append-only). Documents are JSON-serialisable dicts. A
document with ``"open": False`` and ``"day": "YYYY-MM-DD"`` is history: implementations may move
it out of the hot set (the second-adult request lives on its session record), unless it has
``"pending": True`` (side effects still owed, bot/jobs.py): such a record stays hot until its jobs are done. Every write returns a new
``etag``; ``replace`` with a stale etag raises :class:`bot.errors.Conflict`, which is how two
instances (or two clicks) can never both win the same second-adult request.

Every single ``insert``/``replace``/``upsert`` is one atomic durable write (TinyStore: one journal
line and one fsync; Azure Tables: one entity operation), so a record's state change, its applied
idempotency keys and its owed jobs belong in one document. ``upsert_many`` writes many records
all or none. A document may serialise to at most :data:`MAX_DOC_CHARS` characters of JSON (the
Azure store spreads it over several 64 KiB properties); a larger one is refused with StoreError
before anything is written. A document with ``"pending": True`` stays hot, so the query
``where={"pending": True}`` is cheap on both stores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bot import texts
from bot.errors import StoreError

#: The largest document (characters of compact JSON) either store takes: 12 Azure properties of 16,000 characters.
MAX_DOC_CHARS = 192_000


def doc_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def check_size(key: str, doc: Mapping[str, Any]) -> str:
    """The document's JSON, or StoreError when it is larger than both stores take."""
    text = doc_json(doc)
    if len(text) > MAX_DOC_CHARS:
        raise StoreError(
            texts.STORE_TOO_LARGE.format(size=len(text), limit=MAX_DOC_CHARS), hint=texts.STORE_TOO_LARGE_HINT
        )
    return text


@dataclass(frozen=True)
class Record:
    key: str
    doc: dict[str, Any]
    etag: str


@runtime_checkable
class Store(Protocol):
    async def get(self, table: str, key: str) -> Record | None:
        """The record, or None."""

    async def insert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        """Create; raises Conflict if the key exists. Returns once durable."""

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        """Overwrite only if the stored etag matches; raises Conflict otherwise (or NotFound)."""

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        """Create or overwrite, last writer wins (for conversation references and the like)."""

    async def upsert_many(self, table: str, docs: Mapping[str, dict[str, Any]]) -> int:
        """Create or overwrite every document as one atomic write: after a crash or an error, all
        are stored or none are. For tables of hot records written whole (the consent registry)."""

    async def delete(self, table: str, key: str) -> None:
        """Remove if present."""

    async def query(
        self, table: str, where: Mapping[str, Any] | None = None, *, days: tuple[str, str] | None = None
    ) -> list[Record]:
        """Records whose top-level fields equal every item of ``where`` (all when None), in key order.

        ``days=(first, last)`` (ISO dates, inclusive) keeps records whose ``day`` lies in that range,
        and lets the store read only the partitions that can hold them. ``where={"open": True}``
        and ``where={"pending": True}`` are answered from hot data alone."""

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        """Append to an append-only table (audit); returns the generated key. Never overwrites."""

    async def close(self) -> None:
        """Flush and release files or connections."""
