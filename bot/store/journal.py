"""Crash-safe files: atomic snapshots, fsync'd journals with a generation header, owner-only modes.

A snapshot is written to a temporary file, fsync'd, renamed over the old one and the directory
fsync'd, so a crash leaves the old or the new snapshot, never a mix. It records its generation and
its record count, so a damaged, emptied or edited snapshot is told apart from an empty table.

A journal starts with a header line naming its generation (the snapshot it applies to) and is
created whole (temporary file and rename), so an empty journal file is always damage. Each entry
is one line with a CRC, appended with ``os.write`` and fsync'd before the write is acknowledged;
one line may hold a batch of operations, applied all or none. A line torn by a crash (only ever
the last one) is recognised and ignored. A failed append (disk full, I/O error) is cut off again
before the error is raised, so a write that was refused is never replayed at the next start.

Every directory is created 0700 and every file 0600, whatever the umask: the store holds the
names of pupils and safeguarding narratives.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from bot import texts
from bot.errors import StoreCorrupt
from bot.texts import store as store_texts

DIR_MODE, FILE_MODE = 0o700, 0o600
META = "_chaperone"  # the snapshot's own tinydb table: {"1": {"gen": n, "count": n}}
HEADER = "begin"


def corrupt(message: str) -> StoreCorrupt:
    """Damage found: the message names the file; the hint says what to do."""
    return StoreCorrupt(message, hint=texts.STORE_CORRUPT_HINT)


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) owner-only; tighten it if it exists and is ours."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            pass
    if path.stat().st_mode & 0o777 != DIR_MODE:
        try:
            os.chmod(path, DIR_MODE)
        except PermissionError:
            pass  # not ours (or read-only): leave it


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with mode 0600 enforced even when the file existed or the umask is loose."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE and flags & (os.O_WRONLY | os.O_RDWR):
            os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def sync(fd: int) -> None:
    """fsync, as one named step (fault-injection tests replace it)."""
    os.fsync(fd)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` durably: the old content or the new, never a mix."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(path.name + ".tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        write_all(fd, raw)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        _unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        _unlink(tmp)
        raise
    fsync_dir(path.parent)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def read_json_file(path: Path) -> Any:
    """A JSON file Chaperone wrote whole: missing is None; empty, cut or garbage is StoreCorrupt."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if not raw:
        raise corrupt(store_texts.file_empty(path))
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise corrupt(store_texts.file_damaged(path, exc)) from exc


class AtomicJSONStorage(Storage):
    """A tinydb Storage whose writes are atomic and durable; a damaged file is never overwritten."""

    def __init__(self, path: str | Path, **_: Any) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        data = read_json_file(self.path)
        if data is not None and not isinstance(data, dict):
            raise corrupt(store_texts.not_tinydb(self.path))
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        atomic_write(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def load(self, *, legacy: bool = False) -> tuple[int, list[dict[str, Any]]]:
        """(generation, raw documents); 0 and [] when the file does not exist. Checks the count."""
        data = self.read()
        if data is None:
            return 0, []
        docs = data.get("_default") or {}
        meta = (data.get(META) or {}).get("1")
        if (
            not isinstance(docs, dict)
            or (meta is None and not legacy)
            or (meta is not None and not isinstance(meta, dict))
        ):
            raise corrupt(store_texts.no_header(self.path))
        if meta is not None and meta.get("count") != len(docs):
            raise corrupt(store_texts.count_mismatch(self.path, len(docs), meta.get("count")))
        return (int(meta.get("gen", 0)) if meta else 0), [raw for raw in docs.values() if isinstance(raw, dict)]

    def save(self, gen: int, docs: list[dict[str, Any]]) -> None:
        self.write(
            {
                "_default": {str(i): raw for i, raw in enumerate(docs, start=1)},
                META: {"1": {"gen": gen, "count": len(docs)}},
            }
        )


def line_of(entry: dict[str, Any]) -> bytes:
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{zlib.crc32(body.encode()):08x} {body}\n".encode()


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        text = line.decode("utf-8")
        crc, body = text.split(" ", 1)
        if int(crc, 16) != zlib.crc32(body.encode()):
            return None
        value = json.loads(body)
        return value if isinstance(value, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None


class Journal:
    """An append-only file of JSON entries after a generation header, each fsync'd before ``append`` returns.

    After :meth:`entries`, ``gen`` is the header's generation (None when the file does not exist)
    and ``size`` the length in bytes of its complete lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.gen: int | None = None
        self.size = 0
        self.lines = 0  # operations since the header (a batch line counts each of its operations)

    def entries(self, *, legacy: bool = False) -> Iterator[dict[str, Any]]:
        """Every complete entry; a torn last line is skipped, damage before it is StoreCorrupt.

        ``legacy`` accepts a file written before journals had headers (read, never appended to)."""
        self.gen, self.size, self.lines = None, 0, 0
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        raw = data.split(b"\n")
        raw.pop()  # after the last newline: empty, or a write torn by a crash (never acknowledged)
        if not raw and not legacy:
            raise corrupt(store_texts.journal_unstarted(self.path, empty=not data))
        gen: int | None = None
        for n, line in enumerate(raw, start=1):
            entry = _parse(line)
            if entry is None:
                raise corrupt(store_texts.journal_damaged(self.path, n))
            if n == 1 and entry.get("op") == HEADER:
                gen = int(entry.get("gen", 0))
                continue
            if n == 1 and not legacy:
                raise corrupt(store_texts.journal_no_header(self.path))
            self.lines += len(entry["ops"]) if entry.get("op") == "batch" else 1
            yield entry
        self.gen = gen if gen is not None else 0
        self.size = data.rfind(b"\n") + 1

    def create(self, gen: int) -> None:
        """Start the file afresh (whole, atomically) with a header for generation ``gen``."""
        self.close()
        atomic_write(self.path, line_of({"op": HEADER, "gen": gen}))
        self.gen, self.lines = gen, 0
        self.size = self.path.stat().st_size

    def append(self, entry: dict[str, Any]) -> int:
        """Append one line durably; returns the file's new length. On failure the line is cut off again."""
        if self._fd is None:
            if not self.path.exists():
                self.create(0)
            fd = open_private(self.path, os.O_RDWR)
            self._drop_torn_tail(fd)
            self._fd = fd
        fd = self._fd
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            write_all(fd, line_of(entry))
            sync(fd)
        except OSError:
            self._roll_back(fd, start)
            raise
        self.lines += len(entry["ops"]) if entry.get("op") == "batch" else 1
        self.size = os.lseek(fd, 0, os.SEEK_END)
        return self.size

    def _roll_back(self, fd: int, start: int) -> None:
        """Cut what a failed append left (a part line, or a whole line whose fsync failed)."""
        try:
            os.ftruncate(fd, start)
            os.fsync(fd)
        except OSError:
            pass  # the next open cuts a torn line; a whole unsynced line is the one case left (see the report)
        self.close()

    @staticmethod
    def _drop_torn_tail(fd: int) -> None:
        """Cut an unfinished last line (a crash mid-append), so new entries start on a clean line."""
        size = os.lseek(fd, 0, os.SEEK_END)
        if size == 0:
            return
        chunk = min(size, 1 << 20)
        while True:
            os.lseek(fd, size - chunk, os.SEEK_SET)
            tail = os.read(fd, chunk)
            cut = tail.rfind(b"\n")
            if cut >= 0 or chunk == size:
                end = size - chunk + cut + 1 if cut >= 0 else 0
                break
            chunk = min(size, chunk * 4)
        if end != size:
            os.ftruncate(fd, end)
            os.fsync(fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
