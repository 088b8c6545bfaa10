"""TinyStore: the embedded Store on tinydb, one JSON file per table under the data directory.

All file I/O runs in one worker thread behind an asyncio lock, so the event loop never waits
on the disk and writes are serialised.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from tinydb import Query, TinyDB

from bot.errors import Conflict, NotFound
from bot.store.base import Record

T = TypeVar("T")
_KEY = "_key"
_ETAG = "_etag"


class TinyStore:
    def __init__(self, data_dir: Path | str) -> None:
        self._dir = Path(data_dir)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._dbs: dict[str, TinyDB] = {}
        self._lock = asyncio.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinystore")

    def _table(self, name: str) -> Any:
        if name not in self._dbs:
            self._dbs[name] = TinyDB(self._dir / f"{name}.json")
        return self._dbs[name].table(name)

    async def _run(self, fn: Callable[[], T]) -> T:
        async with self._lock:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    @staticmethod
    def _record(raw: Mapping[str, Any]) -> Record:
        doc = {k: v for k, v in raw.items() if k not in (_KEY, _ETAG)}
        return Record(key=raw[_KEY], doc=doc, etag=raw[_ETAG])

    async def get(self, table: str, key: str) -> Record | None:
        def op() -> Record | None:
            raw = self._table(table).get(Query()[_KEY] == key)
            return self._record(raw) if raw else None

        return await self._run(op)

    async def insert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        def op() -> Record:
            t = self._table(table)
            if t.contains(Query()[_KEY] == key):
                raise Conflict(f"A record {key} already exists.")
            raw = {**doc, _KEY: key, _ETAG: uuid.uuid4().hex}
            t.insert(raw)
            return self._record(raw)

        return await self._run(op)

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        def op() -> Record:
            t = self._table(table)
            current = t.get(Query()[_KEY] == key)
            if current is None:
                raise NotFound(f"No record {key}.")
            if current[_ETAG] != etag:
                raise Conflict(f"Record {key} was changed by someone else.")
            raw = {**doc, _KEY: key, _ETAG: uuid.uuid4().hex}
            t.remove(Query()[_KEY] == key)
            t.insert(raw)
            return self._record(raw)

        return await self._run(op)

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        def op() -> Record:
            t = self._table(table)
            raw = {**doc, _KEY: key, _ETAG: uuid.uuid4().hex}
            t.remove(Query()[_KEY] == key)
            t.insert(raw)
            return self._record(raw)

        return await self._run(op)

    async def delete(self, table: str, key: str) -> None:
        await self._run(lambda: self._table(table).remove(Query()[_KEY] == key))

    async def query(self, table: str, where: Mapping[str, Any] | None = None) -> list[Record]:
        def op() -> list[Record]:
            rows = self._table(table).all()
            if where:
                rows = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
            return sorted((self._record(r) for r in rows), key=lambda r: r.key)

        return await self._run(op)

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        key = f"{uuid.uuid1().int:040d}"

        def op() -> str:
            self._table(table).insert({**doc, _KEY: key, _ETAG: uuid.uuid4().hex})
            return key

        return await self._run(op)

    async def close(self) -> None:
        def op() -> None:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()

        await self._run(op)
        self._pool.shutdown(wait=True)
