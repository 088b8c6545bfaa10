"""`chaperone audit list [--record REF]`."""

from __future__ import annotations

import argparse
from typing import Any

from bot.audit import Audit
from bot.cli.common import run_with_store


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="the append-only audit trail")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    ls = ps.add_parser("list", help="entries, oldest first")
    ls.add_argument("--record", help="only this session or concern reference")
    ls.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    entries = run_with_store(lambda store: Audit(store).entries(args.record.upper() if args.record else None))
    for e in entries:
        print(e.line())
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    return 0
