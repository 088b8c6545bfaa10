"""`chaperone outbox list`: the side effects still owed (posts, card updates, timers), and what keeps failing."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from bot.cli.common import run_with_store
from bot.outbox import default_outbox


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="side effects the bot still owes (posts, card updates, timers)")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    ls = ps.add_parser("list", help="every job not yet done, soonest first, and the oldest failing one")
    ls.add_argument("--json", action="store_true", help="as JSON (the /healthz summary plus every job)")
    ls.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    box = default_outbox()

    async def go(store: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return await box.backlog(store, datetime.now(UTC)), await box.rows(store)

    summary, rows = run_with_store(go)
    if args.json:
        print(json.dumps({**summary, "rows": rows}, indent=2))
        return 0
    for r in rows:
        error = f"  failing: {r['last_error']} (since {r['first_failed_at']})" if r["last_error"] else ""
        print(f"{r['due_at']}  {r['record']:<10} {r['kind']:<16} attempts={r['attempts']}{error}")
    oldest = summary["oldest_failing"]
    print(
        f"{summary['jobs']} job(s) owed, {summary['due']} due, {summary['failing']} failing"
        + (
            f"; oldest failing: {oldest['record']} {oldest['kind']} since {oldest['first_failed_at']} ({oldest['last_error']})"
            if oldest
            else ""
        )
    )
    return 0
