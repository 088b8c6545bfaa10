"""TinyStore: the Store on tinydb files in one folder, durable and crash-safe, for one host.

Layout (CHAPERONE_DATA_DIR, 0700; every file 0600)::

    store.json                          the tables this folder holds (a missing table is damage)
    sessions/manifest.json              the files this table must have (a missing one is damage)
    sessions/tails.json                 each journal's length when last acknowledged (a cut journal is damage)
    sessions/hot.json + hot.log         open records, and everything without a day (small, always loaded)
    sessions/2026-11.json + 2026-11.log closed records, by the month of their ``day`` (loaded on demand)
    sessions/keys.log                   which month partition holds each closed key
    audit/append-2026-11.log            append-only tables: one journal per month

Each partition is a tinydb database (``*.json``, written by :class:`AtomicJSONStorage`, carrying its
generation and record count) plus a journal (``*.log``, starting with the generation it applies
to) of the writes since; a write is acknowledged once its journal line is fsync'd, and the
journal is folded into a new snapshot generation when it grows as long as the partition. One
insert, replace, upsert or batch is one journal line and one fsync (a record moving between
partitions commits with its line in ``keys.log``). Convention for callers: a document with
``"open": False`` and ``"day": "YYYY-MM-DD"`` and no ``"pending": True`` is history and lives in
its month's partition; everything else is hot, so ``where={"open": True}`` and
``where={"pending": True}`` read hot data only.

All file work runs in one worker thread, never on the event loop. Writes from several processes
on one machine (the bot and the ``chaperone`` CLI) are serialised by a lock file per table; reads
take a shared lock (or none on a read-only folder) and never write; each process re-reads a
partition that another one changed. A folder written before manifests existed is read as it is
and upgraded by the first write.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot import texts
from bot.errors import Conflict, NotFound, StoreCorrupt, StoreError
from bot.store.base import Record, check_size
from bot.store.journal import (
    AtomicJSONStorage,
    Journal,
    atomic_write,
    corrupt,
    line_of,
    open_private,
    private_dir,
    read_json_file,
    write_all,
)
from bot.texts import store as store_texts

T = TypeVar("T")
HOT = "hot"
_KEY, _ETAG = "_key", "_etag"
_LOADED_COLD = 4  # cold partitions kept in memory at once
STORE_FILE, MANIFEST, TAILS, LOCK = "store.json", "manifest.json", "tails.json", ".lock"
FORMAT = 1
log = logging.getLogger(__name__)


def partition_of(doc: Mapping[str, Any]) -> str:
    day = doc.get("day")
    if doc.get("open") is False and doc.get("pending") is not True and isinstance(day, str) and len(day) >= 7:
        return day[:7]
    return HOT


def hot_only(where: Mapping[str, Any] | None) -> bool:
    return where is not None and (where.get("open") is True or where.get("pending") is True)


def _corrupt_missing(path: Path, what: str = "file") -> StoreCorrupt:
    return corrupt(store_texts.part_missing(what, path))


class _Partition:
    """One tinydb snapshot plus its journal, held in memory as key -> raw document."""

    def __init__(self, table: _Table, name: str) -> None:
        self.table = table
        self.name = name
        self.snapshot = AtomicJSONStorage(table.folder / f"{name}.json")
        self.journal = Journal(table.folder / f"{name}.log")
        self.docs: dict[str, dict[str, Any]] = {}
        self.gen = 0
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
        table, legacy = self.table, self.table.legacy
        for f in (self.snapshot.path, self.journal.path):
            if f.name in table.manifest and not f.exists():
                raise _corrupt_missing(f)
        gen, raws = self.snapshot.load(legacy=legacy)
        docs = {raw[_KEY]: raw for raw in raws if _KEY in raw}
        self.journal.close()
        entries = list(self.journal.entries(legacy=legacy))
        table.check_tail(self.journal)
        jgen = self.journal.gen
        if jgen is not None and not legacy and jgen != gen:
            if jgen > gen:
                raise corrupt(store_texts.snapshot_older(self.snapshot.path, gen, jgen))
            if jgen < gen - 1:
                raise corrupt(store_texts.journal_older(self.journal.path, jgen, gen))
            entries = []  # folded into the snapshot just before a crash: already applied
        for entry in entries:
            _apply(docs, entry)
        self.docs, self.gen = docs, gen
        self._signature = sig

    def _ready(self) -> None:
        """Before appending: a journal exists for this snapshot's generation, and the manifest lists it."""
        if self.journal.gen != self.gen or not self.journal.path.exists():
            self.journal.create(self.gen)
            self.table.note_tail(self.journal)
        self.table.manifest_add(self.journal.path.name)

    def write(self, entry: dict[str, Any]) -> None:
        """Append one entry durably, then apply it in memory (never before: a failed append changes nothing)."""
        self._ready()
        self.journal.append(entry)
        self.table.note_tail(self.journal)
        _apply(self.docs, entry)
        self._after_write()

    def put(self, key: str, raw: dict[str, Any]) -> None:
        self.write({"op": "put", "key": key, "doc": raw})

    def delete(self, key: str) -> None:
        if key in self.docs:
            self.write({"op": "del", "key": key})

    def _after_write(self) -> None:
        self._signature = self.signature()
        if self.journal.lines <= max(256, 2 * len(self.docs)):
            return
        try:  # folding is housekeeping: the write is already durable in the journal
            self.snapshot.save(self.gen + 1, list(self.docs.values()))
        except OSError as exc:
            log.warning(
                "snapshot not written file=%s error=%s",
                self.snapshot.path,
                errno.errorcode.get(exc.errno or 0, type(exc).__name__),
            )
            return
        self.gen += 1
        try:
            self.table.manifest_add(self.snapshot.path.name)
            self.journal.create(self.gen)
            self.table.note_tail(self.journal)
        except OSError as exc:  # the next write starts the new journal first
            log.warning(
                "journal not restarted file=%s error=%s",
                self.journal.path,
                errno.errorcode.get(exc.errno or 0, type(exc).__name__),
            )
        self._signature = self.signature()

    def replace_all(self, docs: dict[str, dict[str, Any]], gen: int) -> None:
        """Write ``docs`` as snapshot ``gen`` with an empty journal (bulk loading and upgrades)."""
        self.snapshot.save(gen, list(docs.values()))
        self.table.manifest_add(self.snapshot.path.name)
        self.journal.create(gen)
        self.table.manifest_add(self.journal.path.name)
        self.table.note_tail(self.journal)
        self.docs, self.gen = docs, gen
        self._signature = self.signature()


def _apply(docs: dict[str, dict[str, Any]], entry: Mapping[str, Any]) -> None:
    op = entry.get("op")
    if op == "put":
        docs[entry["key"]] = entry["doc"]
    elif op == "del":
        docs.pop(entry["key"], None)
    elif op == "batch":
        for sub in entry["ops"]:
            _apply(docs, sub)


class _Table:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hot = _Partition(self, HOT)
        self.cold: OrderedDict[str, _Partition] = OrderedDict()
        self.keys = Journal(folder / "keys.log")
        self.index: dict[str, str] = {}  # closed key -> month partition
        self._keys_sig: tuple[int, int] | None = None
        self.manifest: set[str] = set()
        self.legacy = False
        self.has_manifest = False
        self.tails: dict[str, list[int]] = {}
        self._meta_sig: tuple[tuple[int, int], tuple[int, int]] | None = None

    # --- the manifest and the journals' acknowledged lengths ---------------------------
    def load_meta(self, listed: bool) -> None:
        sig = (_stat(self.folder / MANIFEST), _stat(self.folder / TAILS))
        if sig == self._meta_sig:
            return
        manifest = read_json_file(self.folder / MANIFEST)
        if manifest is None:
            if listed:
                raise _corrupt_missing(self.folder / MANIFEST, "manifest")
            self.manifest = set()
            self.legacy = self.folder.is_dir() and any(
                f.suffix in (".json", ".log") and f.name != TAILS for f in self.folder.iterdir()
            )
        else:
            files = manifest.get("files") if isinstance(manifest, dict) else None
            if not isinstance(files, list):
                raise corrupt(store_texts.manifest_damaged(self.folder / MANIFEST))
            self.manifest, self.legacy = {str(f) for f in files}, False
        self.has_manifest = manifest is not None
        try:
            tails = read_json_file(self.folder / TAILS)
        except StoreCorrupt:
            tails = None  # advisory (written without fsync): a damaged copy only skips the length check
            log.warning("journal lengths unreadable file=%s", self.folder / TAILS)
        self.tails = (
            {k: v for k, v in tails.items() if isinstance(v, list) and len(v) == 2} if isinstance(tails, dict) else {}
        )
        self._meta_sig = sig

    def manifest_add(self, name: str) -> None:
        if name in self.manifest:
            return
        files = sorted(self.manifest | {name})
        atomic_write(self.folder / MANIFEST, json.dumps({"format": FORMAT, "files": files}, indent=1))
        self.manifest = set(files)
        self._meta_seen()

    def check_tail(self, journal: Journal) -> None:
        seen = self.tails.get(journal.path.name)
        if seen and journal.gen == seen[0] and journal.size < seen[1]:
            raise corrupt(store_texts.journal_cut(journal.path, journal.size, seen[1], self.folder / TAILS))

    def note_tail(self, journal: Journal) -> None:
        """Record the journal's acknowledged length (no fsync: after a power cut the check is only weaker)."""
        if journal.gen is None:
            return
        self.tails[journal.path.name] = [journal.gen, journal.size]
        try:
            fd = open_private(self.folder / TAILS, os.O_WRONLY | os.O_CREAT)
            try:
                data = json.dumps(self.tails, sort_keys=True).encode()
                write_all(fd, data)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("journal length not recorded file=%s error=%s", self.folder / TAILS, type(exc).__name__)
        self._meta_seen()

    def _meta_seen(self) -> None:
        """Our own manifest and tails writes need no re-reading."""
        if self._meta_sig is not None:
            self._meta_sig = (_stat(self.folder / MANIFEST), _stat(self.folder / TAILS))

    # --- loading ------------------------------------------------------------------------
    def refresh(self, listed: bool) -> None:
        self.load_meta(listed)
        self.hot.refresh()
        if "keys.log" in self.manifest and not self.keys.path.exists():
            raise _corrupt_missing(self.keys.path)
        sig = _stat(self.keys.path)
        if sig != self._keys_sig:
            index: dict[str, str] = {}
            self.keys.close()
            for entry in self.keys.entries(legacy=self.legacy):
                if entry.get("part"):
                    index[entry["key"]] = entry["part"]
                else:
                    index.pop(entry["key"], None)
            self.check_tail(self.keys)
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
        part = self.cold.pop(name, None) or _Partition(self, name)
        part.refresh()
        self.cold[name] = part
        while len(self.cold) > _LOADED_COLD:
            self.cold.popitem(last=False)[1].journal.close()
        return part

    def months(self) -> list[str]:
        found = {p.stem for p in self.folder.glob("????-??.*")} | {
            Path(f).stem for f in self.manifest if f[:1].isdigit()
        }
        return sorted(m for m in found if len(m) == 7 and m[4] == "-")

    def appended(self) -> list[Path]:
        names = {p.name for p in self.folder.glob("append-*.log")} | {
            f for f in self.manifest if f.startswith("append-")
        }
        return [self.folder / n for n in sorted(names)]

    # --- writing ------------------------------------------------------------------------
    def note_partition(self, key: str, part: str | None) -> None:
        if not self.keys.path.exists():
            self.keys.create(0)
            self.note_tail(self.keys)
        self.manifest_add(self.keys.path.name)
        self.keys.append({"key": key, "part": part})
        self.note_tail(self.keys)
        if part:
            self.index[key] = part
        else:
            self.index.pop(key, None)
        self._keys_sig = _stat(self.keys.path)

    def write(self, key: str, raw: dict[str, Any]) -> None:
        """Put ``raw`` in the partition it belongs to, moving it when that changed.

        A move commits with its ``keys.log`` line: before it the old copy is the record, after it
        the new one; dropping the old copy afterwards is housekeeping, so its failure is no error."""
        old, new = self.where_is(key), partition_of(raw)
        self.partition(new).put(key, raw)
        if new != HOT and self.index.get(key) != new:
            self.note_partition(key, new)
        elif new == HOT and key in self.index:
            self.note_partition(key, None)
        if old is not None and old != new:
            try:
                self.partition(old).delete(key)
            except (OSError, StoreCorrupt) as exc:
                log.warning("stale copy left table=%s partition=%s error=%s", self.folder.name, old, type(exc).__name__)

    def write_many(self, raws: Mapping[str, dict[str, Any]]) -> None:
        """Put every document as one journal line: all or none. They must all be hot and stay hot."""
        if any(partition_of(raw) != HOT or key in self.index for key, raw in raws.items()):
            raise ValueError("a batch write takes records that are and stay hot (no closed history)")
        self.hot.write({"op": "batch", "ops": [{"op": "put", "key": k, "doc": raw} for k, raw in raws.items()]})

    def remove(self, key: str) -> None:
        where = self.where_is(key)
        if where is None:
            return
        self.partition(where).delete(key)
        if where != HOT:
            self.note_partition(key, None)

    def scan(self, where: Mapping[str, Any] | None, days: tuple[str, str] | None) -> Iterator[dict[str, Any]]:
        parts = [HOT]
        if not hot_only(where):
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

    def read_appended(self, path: Path) -> list[dict[str, Any]]:
        if path.name in self.manifest and not path.exists():
            raise _corrupt_missing(path)
        journal = Journal(path)
        entries = list(journal.entries(legacy=self.legacy))
        self.check_tail(journal)
        return entries

    def upgrade(self) -> None:
        """Rewrite a folder from before manifests: generation-1 snapshots, journals with headers, a manifest."""
        log.info("upgrading store table=%s", self.folder.name)
        parts = [self.hot] + [self.partition(m) for m in self.months()]
        keys = list(self.keys.entries(legacy=True)) if self.keys.path.exists() else []
        appended = {p: self.read_appended(p) for p in self.appended()}
        for part in parts:
            part.snapshot.save(1, list(part.docs.values()))
            part.journal.create(1)
            part.gen = 1
        for journal_path, entries in [(self.keys.path, keys)] * bool(keys) + list(appended.items()):
            atomic_write(journal_path, line_of({"op": "begin", "gen": 0}) + b"".join(line_of(e) for e in entries))
        files = (
            [f.name for p in parts for f in (p.snapshot.path, p.journal.path)]
            + [p.name for p in appended]
            + ["keys.log"] * bool(keys)
        )
        self.legacy = False
        for name in files:
            self.manifest_add(name)
        for part in parts:
            part._signature = None
        self._keys_sig = None

    def close(self) -> None:
        self.hot.journal.close()
        for part in self.cold.values():
            part.journal.close()
        self.keys.close()


def _stat(p: Path) -> tuple[int, int]:
    try:
        st = p.stat()
        return st.st_mtime_ns, st.st_size
    except FileNotFoundError:
        return 0, 0


def store_error(exc: OSError, *, write: bool) -> StoreError:
    """An operating-system failure as a sentence a teacher can read: what failed and that nothing was stored."""
    code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    if not write:
        return StoreError(texts.STORE_READ_FAILED.format(error=code), hint=texts.STORE_FAILED_HINT)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(texts.STORE_DISK_FULL, hint=texts.STORE_FAILED_HINT)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError(texts.STORE_READ_ONLY, hint=texts.STORE_FAILED_HINT)
    return StoreError(texts.STORE_WRITE_FAILED.format(error=code), hint=texts.STORE_FAILED_HINT)


@dataclass
class CheckReport:
    """What ``check`` found: records per table, and each damaged file with what to do."""

    records: dict[str, int] = field(default_factory=dict)
    problems: list[StoreCorrupt] = field(default_factory=list)


class TinyStore:
    def __init__(self, data_dir: Path | str) -> None:
        self._dir = Path(data_dir)
        self._tables: dict[str, _Table] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinystore")
        self._closed = False
        self._listed: set[str] | None = None

    # --- plumbing ---------------------------------------------------------------------
    def _store_tables(self, *, reread: bool = False) -> set[str]:
        """The tables ``store.json`` lists (none for a new or pre-manifest folder)."""
        if self._listed is None or reread:
            data = read_json_file(self._dir / STORE_FILE)
            if data is None:
                with_manifest = sorted(p.parent.name for p in self._dir.glob(f"*/{MANIFEST}"))
                if with_manifest:
                    raise corrupt(store_texts.store_file_missing(self._dir / STORE_FILE, list(with_manifest)))
                self._listed = set()
            elif not isinstance(data, dict) or not isinstance(data.get("tables"), list):
                raise corrupt(store_texts.file_damaged(self._dir / STORE_FILE))
            else:
                self._listed = {str(t) for t in data["tables"]}
        return self._listed

    def _list_table(self, name: str | None) -> None:
        """Add ``name`` to store.json, or with None create store.json if missing (under the folder's
        own lock: two processes may add tables). store.json exists before any table manifest."""
        private_dir(self._dir)
        fd = open_private(self._dir / LOCK, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            listed = self._store_tables(reread=True)
            if (name is None and not (self._dir / STORE_FILE).exists()) or (name is not None and name not in listed):
                listed = listed | ({name} if name else set())
                atomic_write(self._dir / STORE_FILE, json.dumps({"format": FORMAT, "tables": sorted(listed)}, indent=1))
                self._listed = listed
        finally:
            os.close(fd)

    def _table(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = _Table(self._dir / name)
        return table

    @contextmanager
    def _locked(self, name: str, *, write: bool = False) -> Iterator[_Table]:
        """The table, refreshed, under the table's lock: exclusive to write; shared (or none) to read."""
        table = self._table(name)
        listed = name in self._store_tables()
        if not listed and (table.folder / MANIFEST).exists() is False and (self._dir / STORE_FILE).exists():
            listed = name in self._store_tables(reread=True)
        if listed and not table.folder.is_dir():
            raise corrupt(store_texts.folder_missing(table.folder, STORE_FILE))
        fd: int | None = None
        if write:
            private_dir(self._dir)
            private_dir(table.folder)
            fd = open_private(table.folder / LOCK, os.O_RDWR | os.O_CREAT)
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            try:
                fd = os.open(table.folder / LOCK, os.O_RDONLY | os.O_CLOEXEC)
                fcntl.flock(fd, fcntl.LOCK_SH)
            except FileNotFoundError:
                fd = None  # nothing was ever written here
            except PermissionError:
                fd = None  # a read-only copy: no writer can be running on it
        try:
            table.refresh(listed)
            if write and (table.legacy or not table.has_manifest):
                self._list_table(None)  # store.json exists before any table manifest
                if table.legacy:
                    table.upgrade()
                else:
                    atomic_write(table.folder / MANIFEST, json.dumps({"format": FORMAT, "files": []}, indent=1))
                    table._meta_sig = None
                table.refresh(False)
            if write and not listed:
                self._list_table(name)
            yield table
        finally:
            if fd is not None:
                os.close(fd)  # closing the descriptor releases the lock

    async def _run(self, fn: Callable[[], T], *, write: bool = False) -> T:
        if self._closed:
            raise StoreError(texts.STORE_CLOSED)

        def guarded() -> T:
            try:
                return fn()
            except OSError as exc:
                log.warning(
                    "store %s failed error=%s",
                    "write" if write else "read",
                    errno.errorcode.get(exc.errno or 0, type(exc).__name__),
                )
                raise store_error(exc, write=write) from exc

        return await asyncio.get_running_loop().run_in_executor(self._pool, guarded)

    @staticmethod
    def _record(raw: Mapping[str, Any]) -> Record:
        return Record(key=raw[_KEY], doc={k: v for k, v in raw.items() if k not in (_KEY, _ETAG)}, etag=raw[_ETAG])

    @staticmethod
    def _raw(key: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        check_size(key, doc)
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
        raw = self._raw(key, doc)

        def op() -> Record:
            with self._locked(table, write=True) as t:
                if self._get(t, key) is not None:
                    raise Conflict(store_texts.record_exists(key))
                t.write(key, raw)
                return self._record(raw)

        return await self._run(op, write=True)

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        raw = self._raw(key, doc)

        def op() -> Record:
            with self._locked(table, write=True) as t:
                current = self._get(t, key)
                if current is None:
                    raise NotFound(store_texts.no_record(key))
                if current[_ETAG] != etag:
                    raise Conflict(store_texts.record_changed(key))
                t.write(key, raw)
                return self._record(raw)

        return await self._run(op, write=True)

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        raw = self._raw(key, doc)

        def op() -> Record:
            with self._locked(table, write=True) as t:
                t.write(key, raw)
                return self._record(raw)

        return await self._run(op, write=True)

    async def upsert_many(self, table: str, docs: Mapping[str, dict[str, Any]]) -> int:
        raws = {key: self._raw(key, doc) for key, doc in docs.items()}
        if not raws:
            return 0

        def op() -> int:
            with self._locked(table, write=True) as t:
                t.write_many(raws)
            return len(raws)

        return await self._run(op, write=True)

    async def delete(self, table: str, key: str) -> None:
        def op() -> None:
            with self._locked(table, write=True) as t:
                t.remove(key)

        await self._run(op, write=True)

    async def query(
        self, table: str, where: Mapping[str, Any] | None = None, *, days: tuple[str, str] | None = None
    ) -> list[Record]:
        def op() -> list[Record]:
            with self._locked(table) as t:
                found = [self._record(raw) for raw in t.scan(where, days)]
                found += [self._record(raw) for raw in self._scan_appended(t, where, days)]
            return sorted(found, key=lambda r: r.key)

        return await self._run(op)

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        key = f"{datetime.now(UTC):%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        raw = self._raw(key, doc)

        def op() -> str:
            with self._locked(table, write=True) as t:
                month = str(doc.get("day") or "")[:7] or key[:4] + "-" + key[4:6]
                journal = Journal(t.folder / f"append-{month}.log")
                try:
                    if not journal.path.exists():
                        journal.create(0)
                        t.note_tail(journal)
                    t.manifest_add(journal.path.name)
                    journal.append({"op": "put", "key": key, "doc": raw})
                    journal.gen = 0
                    t.note_tail(journal)
                finally:
                    journal.close()
            return key

        return await self._run(op, write=True)

    def _scan_appended(
        self, t: _Table, where: Mapping[str, Any] | None, days: tuple[str, str] | None
    ) -> Iterator[dict[str, Any]]:
        for path in t.appended():
            month = path.stem[len("append-") :]
            if days and not (days[0][:7] <= month <= days[1][:7]):
                continue
            for entry in t.read_appended(path):
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

    # --- integrity ------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        """Every table the folder holds: those store.json lists and every sub-folder."""
        names = set(self._store_tables())
        if self._dir.is_dir():
            names |= {p.name for p in self._dir.iterdir() if p.is_dir()}
        return sorted(names)

    def check_sync(self) -> CheckReport:
        """Read every file of every table (synchronously, writing nothing): records per table, and damage."""
        report = CheckReport()
        try:
            names = self.table_names()
        except StoreCorrupt as exc:
            report.problems.append(exc)
            return report
        for name in names:
            try:
                with self._locked(name) as t:
                    count = sum(1 for _ in t.scan(None, None))
                    for path in t.appended():
                        count += len(t.read_appended(path))
                report.records[name] = count
            except StoreCorrupt as exc:
                report.problems.append(exc)
            except OSError as exc:
                report.problems.append(corrupt(store_texts.folder_unreadable(self._dir / name, exc.strerror)))
        return report

    async def check(self) -> CheckReport:
        return await self._run(self.check_sync)

    # --- bulk loading (benchmarks and migrations) --------------------------------------
    def bulk_load(self, table: str, docs: Mapping[str, dict[str, Any]]) -> None:
        """Write many closed records straight into their month snapshots (synchronous; no other
        writer may run). For seeding history in benchmarks and importing old registers."""
        with self._locked(table, write=True) as t:
            by_month: dict[str, dict[str, dict[str, Any]]] = {}
            for key, doc in docs.items():
                name = partition_of(doc)
                if name == HOT:
                    raise ValueError("bulk_load takes closed records (open False, with a day) only")
                by_month.setdefault(name, {})[key] = self._raw(key, doc)
            for month, raws in by_month.items():
                part = t.partition(month)
                part.replace_all({**part.docs, **raws}, part.gen + 1)
            if not t.keys.path.exists():
                t.keys.create(0)
            t.manifest_add(t.keys.path.name)
            t.keys.close()
            fd = open_private(t.keys.path, os.O_WRONLY | os.O_APPEND)
            try:
                write_all(fd, b"".join(line_of({"key": k, "part": m}) for m, raws in by_month.items() for k in raws))
                os.fsync(fd)
            finally:
                os.close(fd)
            t._keys_sig = None
            t.refresh(True)
            t.note_tail(t.keys)
