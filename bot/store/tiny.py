"""TinyStore: the embedded Store, durable and with a cost that does not grow with history.

Layout under the data directory, one folder per table::

    sessions/hot.json  + hot.log        open records and records without a day (small, always loaded)
    sessions/2026-11.json + 2026-11.log closed records, by the month of their ``day`` (loaded on demand)
    sessions/keys.log                   which month partition holds each closed key
    audit/append-2026-11.log            append-only tables: one journal per month

Each partition is a tinydb database (``*.json``, written by :class:`AtomicJSONStorage`) plus a
journal (``*.log``) of the writes since; a write is acknowledged once its journal line is
fsync'd, and the journal is folded into the snapshot when it grows as long as the partition.
Convention for callers: a document with ``"open": False`` and ``"day": "YYYY-MM-DD"`` is history
and lives in its month's partition; everything else is hot.

All file work runs in one worker thread, never on the event loop. Writes from several processes
on one machine (the bot and the ``chaperone`` CLI) are serialised by a lock file per table, and
each process re-reads a partition that another one changed.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

from bot.errors import Conflict, NotFound, StoreCorrupt
from bot.store.base import Record
from bot.store.journal import AtomicJSONStorage, Journal

T = TypeVar("T")
HOT = "hot"
_KEY, _ETAG = "_key", "_etag"
_LOADED_COLD = 4  # cold partitions kept in memory at once


def partition_of(doc: Mapping[str, Any]) -> str:
    day = doc.get("day")
    if doc.get("open") is False and not doc.get("pending") and isinstance(day, str) and len(day) >= 7:
        return day[:7]
    return HOT


class _Partition:
    """One tinydb snapshot plus its journal, held in memory as key -> raw document."""

    def __init__(self, folder: Path, name: str) -> None:
        self.snapshot = AtomicJSONStorage(folder / f"{name}.json")
        self.journal = Journal(folder / f"{name}.log")
        self.docs: dict[str, dict[str, Any]] = {}
        self._signature: tuple[int, int, int, int] | None = None

    def signature(self) -> tuple[int, int, int, int]:
        def stat(p: Path) -> tuple[int, int]:
            try:
                st = p.stat()
                return st.st_mtime_ns, st.st_size
            except FileNotFoundError:
                return 0, 0

        return (*stat(self.snapshot.path), *stat(self.journal.path))

    def refresh(self) -> None:
        """(Re)load if the files changed since we last saw them (another process wrote)."""
        sig = self.signature()
        if sig == self._signature:
            return
        data = self.snapshot.read() or {}
        docs = {raw[_KEY]: raw for raw in (data.get("_default") or {}).values() if isinstance(raw, dict) and _KEY in raw}
        self.journal.close()
        self.journal.lines = 0
        for entry in self.journal.entries():
            if entry.get("op") == "put":
                docs[entry["key"]] = entry["doc"]
            elif entry.get("op") == "del":
                docs.pop(entry["key"], None)
        self.docs = docs
        self._signature = sig

    def put(self, key: str, raw: dict[str, Any]) -> None:
        self.journal.append({"op": "put", "key": key, "doc": raw})
        self.docs[key] = raw
        self._after_write()

    def delete(self, key: str) -> None:
        if key in self.docs:
            self.journal.append({"op": "del", "key": key})
            del self.docs[key]
            self._after_write()

    def _after_write(self) -> None:
        if self.journal.lines > max(256, 2 * len(self.docs)):
            self.snapshot.write({"_default": {str(i): raw for i, raw in enumerate(self.docs.values(), start=1)}})
            self.journal.reset()
        self._signature = self.signature()


class _Table:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.hot = _Partition(folder, HOT)
        self.cold: OrderedDict[str, _Partition] = OrderedDict()
        self.keys = Journal(folder / "keys.log")
        self.index: dict[str, str] = {}  # closed key -> month partition
        self._keys_sig: tuple[int, int] | None = None

    def refresh(self) -> None:
        self.hot.refresh()
        try:
            st = self.keys.path.stat()
            sig = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            sig = (0, 0)
        if sig != self._keys_sig:
            index: dict[str, str] = {}
            self.keys.close()
            for entry in self.keys.entries():
                if entry.get("part"):
                    index[entry["key"]] = entry["part"]
                else:
                    index.pop(entry["key"], None)
            self.index = index
            self._keys_sig = sig

    def where_is(self, key: str) -> str | None:
        # The month index wins over hot: a record is written to its month before it leaves hot.
        if key in self.index:
            return self.index[key]
        return HOT if key in self.hot.docs else None

    def partition(self, name: str) -> _Partition:
        if name == HOT:
            return self.hot
        part = self.cold.pop(name, None) or _Partition(self.folder, name)
        part.refresh()
        self.cold[name] = part
        while len(self.cold) > _LOADED_COLD:
            self.cold.popitem(last=False)[1].journal.close()
        return part

    def months(self) -> list[str]:
        return sorted({p.stem for p in self.folder.glob("????-??.*")})

    def note_partition(self, key: str, part: str | None) -> None:
        self.keys.append({"key": key, "part": part})
        if part:
            self.index[key] = part
        else:
            self.index.pop(key, None)
        st = self.keys.path.stat()
        self._keys_sig = (st.st_mtime_ns, st.st_size)

    def write(self, key: str, raw: dict[str, Any]) -> None:
        """Put ``raw`` in the partition it belongs to, moving it when that changed."""
        old, new = self.where_is(key), partition_of(raw)
        self.partition(new).put(key, raw)
        if new != HOT and self.index.get(key) != new:
            self.note_partition(key, new)
        elif new == HOT and key in self.index:
            self.note_partition(key, None)
        if old is not None and old != new:
            self.partition(old).delete(key)

    def remove(self, key: str) -> None:
        where = self.where_is(key)
        if where is None:
            return
        self.partition(where).delete(key)
        if where != HOT:
            self.note_partition(key, None)

    def scan(self, where: Mapping[str, Any] | None, days: tuple[str, str] | None) -> Iterator[dict[str, Any]]:
        parts = [HOT]
        if not (where and (where.get("open") is True or where.get("pending") is True)):
            months = self.months()
            if days:
                months = [m for m in months if days[0][:7] <= m <= days[1][:7]]
            parts += months
        for name in parts:
            part = self.partition(name)
            for key, raw in list(part.docs.items()):
                if self.where_is(key) != name:
                    continue  # a stale copy left by a crash mid-move
                if days and not (days[0] <= str(raw.get("day", "")) <= days[1]):
                    continue
                if where and any(raw.get(k) != v for k, v in where.items()):
                    continue
                yield raw

    def close(self) -> None:
        self.hot.journal.close()
        for part in self.cold.values():
            part.journal.close()
        self.keys.close()


class TinyStore:
    def __init__(self, data_dir: Path | str) -> None:
        self._dir = Path(data_dir)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._tables: dict[str, _Table] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinystore")
        self._closed = False

    # --- plumbing ---------------------------------------------------------------------
    @contextmanager
    def _locked(self, name: str) -> Iterator[_Table]:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = _Table(self._dir / name)
        with open(table.folder / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                table.refresh()
                yield table
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise StoreCorrupt("The store is closed.")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    @staticmethod
    def _record(raw: Mapping[str, Any]) -> Record:
        return Record(key=raw[_KEY], doc={k: v for k, v in raw.items() if k not in (_KEY, _ETAG)}, etag=raw[_ETAG])

    @staticmethod
    def _raw(key: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {**doc, _KEY: key, _ETAG: uuid.uuid4().hex}

    def _get(self, table: _Table, key: str) -> dict[str, Any] | None:
        where = table.where_is(key)
        return None if where is None else table.partition(where).docs.get(key)

    # --- the Store protocol -----------------------------------------------------------
    async def get(self, table: str, key: str) -> Record | None:
        def op() -> Record | None:
            with self._locked(table) as t:
                raw = self._get(t, key)
                return self._record(raw) if raw else None

        return await self._run(op)

    async def insert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        def op() -> Record:
            with self._locked(table) as t:
                if self._get(t, key) is not None:
                    raise Conflict(f"A record {key} already exists.")
                raw = self._raw(key, doc)
                t.write(key, raw)
                return self._record(raw)

        return await self._run(op)

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        def op() -> Record:
            with self._locked(table) as t:
                current = self._get(t, key)
                if current is None:
                    raise NotFound(f"No record {key}.")
                if current[_ETAG] != etag:
                    raise Conflict(f"Record {key} was changed by someone else.")
                raw = self._raw(key, doc)
                t.write(key, raw)
                return self._record(raw)

        return await self._run(op)

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        def op() -> Record:
            with self._locked(table) as t:
                raw = self._raw(key, doc)
                t.write(key, raw)
                return self._record(raw)

        return await self._run(op)

    async def delete(self, table: str, key: str) -> None:
        def op() -> None:
            with self._locked(table) as t:
                t.remove(key)

        await self._run(op)

    async def query(self, table: str, where: Mapping[str, Any] | None = None, *, days: tuple[str, str] | None = None) -> list[Record]:
        def op() -> list[Record]:
            with self._locked(table) as t:
                found = [self._record(raw) for raw in t.scan(where, days)]
                found += [self._record(raw) for raw in self._scan_appended(t, where, days)]
            return sorted(found, key=lambda r: r.key)

        return await self._run(op)

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        key = f"{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}"

        def op() -> str:
            with self._locked(table) as t:
                month = str(doc.get("day") or "")[:7] or key[:4] + "-" + key[4:6]
                journal = Journal(t.folder / f"append-{month}.log")
                try:
                    journal.append({"op": "put", "key": key, "doc": self._raw(key, doc)})
                finally:
                    journal.close()
            return key

        return await self._run(op)

    def _scan_appended(self, t: _Table, where: Mapping[str, Any] | None, days: tuple[str, str] | None) -> Iterator[dict[str, Any]]:
        for path in sorted(t.folder.glob("append-*.log")):
            month = path.stem[len("append-"):]
            if days and not (days[0][:7] <= month <= days[1][:7]):
                continue
            for entry in Journal(path).entries():
                raw = entry.get("doc") or {}
                if days and not (days[0] <= str(raw.get("day", "")) <= days[1]):
                    continue
                if where and any(raw.get(k) != v for k, v in where.items()):
                    continue
                yield raw

    async def close(self) -> None:
        if self._closed:
            return

        def op() -> None:
            for t in self._tables.values():
                t.close()

        await self._run(op)
        self._closed = True
        self._pool.shutdown(wait=True)

    # --- bulk loading (benchmarks and migrations) --------------------------------------
    def bulk_load(self, table: str, docs: Mapping[str, dict[str, Any]]) -> None:
        """Write many closed records straight into their month snapshots (synchronous; no other
        writer may run). For seeding history in benchmarks and importing old registers."""
        with self._locked(table) as t:
            by_month: dict[str, dict[str, dict[str, Any]]] = {}
            for key, doc in docs.items():
                name = partition_of(doc)
                if name == HOT:
                    raise ValueError("bulk_load takes closed records (open False, with a day) only")
                by_month.setdefault(name, {})[key] = self._raw(key, doc)
            for month, raws in by_month.items():
                part = t.partition(month)
                merged = {**part.docs, **raws}
                part.snapshot.write({"_default": {str(i): raw for i, raw in enumerate(merged.values(), start=1)}})
                part.journal.reset()
                part.docs = merged
                part._signature = part.signature()
            _append_many(t.keys, [{"key": k, "part": m} for m, raws in by_month.items() for k in raws])
            t._keys_sig = None
            t.refresh()


def _append_many(journal: Journal, entries: list[dict[str, Any]]) -> None:
    """Append many entries with one fsync (bulk loading only)."""
    from bot.store.journal import _line

    journal.close()
    journal.path.parent.mkdir(parents=True, exist_ok=True)
    with open(journal.path, "ab") as f:
        f.write("".join(_line(e) for e in entries).encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
