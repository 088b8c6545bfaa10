"""`chaperone concern export --format csv --output FILE`: for the DSL to move records into CPOMS or MyConcern."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Any

from bot.audit import Audit
from bot.cli.common import cli_actor, run_with_store, write_private
from bot.concerns.repo import Concerns
from bot.sessions.register import to_csv

COLUMNS = ["reference", "raised_at", "raised_by", "raised_by_email", "pupil", "category", "immediate_risk", "when", "where", "session",
           "what_was_seen_or_heard", "childs_own_words", "action_taken", "session_ended", "acknowledged_by", "acknowledged_at"]


def register(sub: Any) -> None:
    p = sub.add_parser("concern", help="safeguarding concerns (DSL)")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    e = ps.add_parser("export", help="all concerns as CSV, to a file only its owner can read")
    e.add_argument("--format", choices=["csv"], default="csv")
    e.add_argument("--output", "-o", required=True)
    e.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    async def go(store: Any) -> int:
        concerns = sorted(await Concerns(store).all(), key=lambda c: c.raised_at)
        body = [[
            c.ref, c.raised_at.isoformat(), c.raised_by_name, c.raised_by_email or "", c.pupil, c.category, "yes" if c.immediate_risk else "no",
            c.when.isoformat(), c.where, c.session_ref or "", c.what, c.child_words, c.action_taken, "yes" if c.session_ended else "no",
            c.acknowledged_by_name or "", c.acknowledged_at.isoformat() if c.acknowledged_at else "",
        ] for c in concerns]
        write_private(args.output, to_csv(COLUMNS, body))
        await Audit(store).record(at=datetime.now(timezone.utc), who=cli_actor(), action="concern.exported", record="*", detail=f"count={len(concerns)}")
        return len(concerns)

    n = run_with_store(go)
    print(f"wrote {n} concern(s) to {args.output} (readable by its owner only)", file=sys.stderr)
    return 0
