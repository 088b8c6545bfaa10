"""Shared plumbing for CLI commands that read the store."""

from __future__ import annotations

import asyncio
import getpass
from datetime import date
from typing import Any, Awaitable, Callable, TypeVar

from bot.config import Settings
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


def school_timezone() -> str:
    school = Settings.from_env().school_config()
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
