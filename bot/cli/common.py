"""Shared plumbing for CLI commands that read the store."""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from bot import texts
from bot.audit import Audit
from bot.config import Settings
from bot.errors import StoreError, UsageError
from bot.services import profile_for
from bot.store import open_store
from bot.store.base import Store

T = TypeVar("T")


def run_with_store(fn: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        store = open_store(Settings.from_env())
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


class PrivateFile:
    """An export's file, opened owner-only (0600) and never through a symlink, before anything is
    audited; written (replacing what was there) only after the audit entry exists."""

    def __init__(self, path: str) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise UsageError(
                f"Cannot write {path}: {exc.strerror or exc} (an export never follows a symbolic link)."
            ) from None
        os.fchmod(self._fd, 0o600)  # owner-only even when the file already existed

    def write(self, text: str) -> None:
        os.ftruncate(self._fd, 0)
        with os.fdopen(self._fd, "w", encoding="utf-8", newline="") as f:
            self._fd = -1
            f.write(text)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def school_timezone() -> str:
    school = Settings.from_env().school_config()
    return school.school.timezone or profile_for(school).timezone


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


def parse_date(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} must be a date like 2026-09-01, not {value!r}.") from None


async def audit_export(store: Store, *, action: str, record: str, detail: str) -> None:
    """Record an export in the audit trail before anything is written: no audit entry, no export (fail closed)."""
    try:
        await Audit(store).record(at=datetime.now(UTC), who=cli_actor(), action=action, record=record, detail=detail)
    except StoreError as exc:
        raise StoreError(texts.EXPORT_NOT_AUDITED.format(error=str(exc)), hint=texts.EXPORT_NOT_AUDITED_HINT) from exc
