"""`chaperone register export --format csv [--from DATE --to DATE] [--output FILE]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.common import PrivateFile, audit_export, parse_date, run_with_store, school_timezone
from bot.sessions.register import COLUMNS, rows, to_csv
from bot.sessions.repo import Sessions


def register(sub: Any) -> None:
    p = sub.add_parser("register", help="the session register")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    e = ps.add_parser("export", help="one row per session, CSV for Excel")
    e.add_argument("--format", choices=["csv"], default="csv")
    e.add_argument("--from", dest="start")
    e.add_argument("--to", dest="end")
    e.add_argument("--output", "-o", help="file to write (default: standard output)")
    e.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    start, end = parse_date(args.start, "--from"), parse_date(args.end, "--to")
    tz = school_timezone()

    async def go(store: Any) -> str:
        if start or end:  # read only the months that can hold the range
            first, last = (start.isoformat() if start else "0000-01-01"), (end.isoformat() if end else "9999-12-31")
            sessions = await Sessions(store).on_days(first, last)
        else:
            sessions = await Sessions(store).all()
        table = rows(sessions, tz, start=start, end=end)
        text = to_csv(COLUMNS, table)
        out = PrivateFile(args.output) if args.output else None
        try:
            await audit_export(
                store,
                action="register.exported",
                record="*",
                detail=f"rows={len(table)} to={'file' if args.output else 'stdout'} from={start or '-'} until={end or '-'}",
            )
            if out is not None:
                out.write(text)
        finally:
            if out is not None:
                out.close()
        return text

    text = run_with_store(go)
    if args.output:
        print(f"wrote {args.output} (readable by its owner only)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
