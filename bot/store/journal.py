"""Crash-safe files: an atomic tinydb Storage for snapshots and an fsync'd append-only journal.

A snapshot is written to a temporary file, fsync'd, renamed over the old one and the directory
fsync'd, so a crash leaves the old or the new snapshot, never a mix. A journal line is appended
and fsync'd before the write is acknowledged; each line carries a CRC, so a line torn by a crash
(only ever the last one) is recognised and ignored, while damage anywhere else is reported.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any, Iterator

from tinydb.storages import Storage

from bot.errors import StoreCorrupt


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class AtomicJSONStorage(Storage):
    """A tinydb Storage whose writes are atomic and durable; a damaged file is never overwritten."""

    def __init__(self, path: str | Path, **_: Any) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreCorrupt(f"The store file {self.path} is damaged ({exc}); Chaperone has not changed it.") from exc
        if data is not None and not isinstance(data, dict):
            raise StoreCorrupt(f"The store file {self.path} is not a tinydb database; Chaperone has not changed it.")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        atomic_write(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def _line(entry: dict[str, Any]) -> str:
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{zlib.crc32(body.encode()):08x} {body}\n"


class Journal:
    """An append-only file of JSON entries, each fsync'd before ``append`` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: Any = None
        self.lines = 0

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every complete entry; a torn last line is skipped, damage before it is StoreCorrupt."""
        if not self.path.exists():
            return
        raw = self.path.read_bytes().split(b"\n")
        raw.pop()  # after the last newline: empty, or a write torn by a crash (never acknowledged)
        for n, line in enumerate(raw, start=1):
            entry = self._parse(line)
            if entry is None:
                raise StoreCorrupt(f"The journal {self.path} is damaged at line {n}; Chaperone has not changed it.")
            self.lines += 1
            yield entry

    @staticmethod
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

    def append(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            if not new:
                self._drop_torn_tail()
            self._file = open(self.path, "ab")
            if new:
                fsync_dir(self.path.parent)
        self._file.write(_line(entry).encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.lines += 1

    def _drop_torn_tail(self) -> None:
        """Cut an unfinished last line (a crash mid-append), so new entries start on a clean line."""
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(self.path, "r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())

    def reset(self) -> None:
        """Empty the journal (after its entries are safely in a snapshot)."""
        self.close()
        with open(self.path, "wb") as f:
            f.flush()
            os.fsync(f.fileno())
        self.lines = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
