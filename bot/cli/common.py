"""Shared plumbing for CLI commands that read the store."""

from __future__ import annotations

import asyncio
import getpass
import os
from datetime import date
from typing import Any, Awaitable, Callable, TypeVar

from bot.config import Settings, load_school_config
from bot.errors import UsageError
from bot.services import profile_for
from bot.store import open_store

T = TypeVar("T")


def run_with_store(fn: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        store = open_store(Settings.from_env())
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


def write_private(path: str, text: str) -> None:
    """Write an export readable by its owner only (0600), refusing to follow a symlink at ``path``."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc} (an export never follows a symbolic link).") from None
    try:
        os.fchmod(fd, 0o600)  # owner-only even when the file already existed
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            fd = -1
            f.write(text)
    finally:
        if fd >= 0:
            os.close(fd)


def school_timezone() -> str:
    school = load_school_config(Settings.from_env().config_path)
    return school.school.timezone or profile_for(school).timezone


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli:unknown"


def parse_date(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} must be a date like 2026-09-01, not {value!r}.") from None
