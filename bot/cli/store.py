"""`chaperone store check`: read every file of the store and report damage, without starting the bot."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot import texts
from bot.config import Settings
from bot.errors import ChaperoneError
from bot.store import open_store


def register(sub: Any) -> None:
    p = sub.add_parser("store", help="the data store: check it for damage")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    ps.add_parser(
        "check", help="read every file; exit 0 when healthy, 1 when damaged (names each file and what to do)"
    ).set_defaults(func=_check)


def inspect(settings: Settings) -> tuple[dict[str, int], list[ChaperoneError]]:
    """(records per table, problems) of the configured store, reading only."""

    async def go() -> tuple[dict[str, int], list[ChaperoneError]]:
        store = open_store(settings)
        try:
            check = getattr(store, "check", None)
            if check is not None:
                report = await check()
                return report.records, list(report.problems)
            try:  # Azure Table Storage: the service answers
                await store.query("sessions", {"open": True})
                return {}, []
            except ChaperoneError as exc:
                return {}, [exc]
        finally:
            await store.close()

    return asyncio.run(go())


def print_problems(problems: list[ChaperoneError]) -> None:
    for exc in problems:
        print(f"chaperone: {exc}", file=sys.stderr)
    hints = {exc.hint for exc in problems if exc.hint}
    for hint in sorted(hints):
        print(f"  {hint}", file=sys.stderr)


def refuse_if_damaged(settings: Settings) -> bool:
    """Before `serve`: True (after saying why) when the store is damaged, so the bot does not start."""
    _, problems = inspect(settings)
    if problems:
        print(f"chaperone: {texts.STORE_NOT_STARTING}", file=sys.stderr)
        print_problems(problems)
        return True
    return False


def _check(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    records, problems = inspect(settings)
    for table, n in sorted(records.items()):
        print(f"{table}: {n} record(s)")
    if problems:
        print(f"store damaged: {len(problems)} problem(s)")
        print_problems(problems)
        return 1
    print(f"store healthy ({settings.store}{'' if settings.store == 'tables' else ': ' + str(settings.data_dir)})")
    return 0
