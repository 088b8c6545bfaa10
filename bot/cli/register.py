"""`chaperone register export --format csv [--from DATE --to DATE] [--output FILE]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import parse_date, run_with_store, school_timezone
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
    if start or end:  # read only the months that can hold the range
        first, last = (start.isoformat() if start else "0000-01-01"), (end.isoformat() if end else "9999-12-31")
        sessions = run_with_store(lambda store: Sessions(store).on_days(first, last))
    else:
        sessions = run_with_store(lambda store: Sessions(store).all())
    text = to_csv(COLUMNS, rows(sessions, school_timezone(), start=start, end=end))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
