"""`chaperone consent import FILE.csv | list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import run_with_store
from bot.consent import ConsentFileInvalid, ConsentRegistry, parse_csv
from bot.errors import UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("consent", help="the parental consent registry")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    i = ps.add_parser(
        "import",
        help="import consents from CSV: " + "pupil, parent_name, parent_email, pupil_school_email, consent, date",
    )
    i.add_argument("file")
    i.set_defaults(func=_import)
    ps.add_parser("list", help="the pupils with consent on record").set_defaults(func=_list)


def _import(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}.") from exc
    try:
        records = parse_csv(text)
    except ConsentFileInvalid as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was imported.", file=sys.stderr)
        return 2
    n = run_with_store(lambda store: ConsentRegistry(store).import_records(records))
    print(f"imported {n} consent record(s)")
    return 0


def _list(args: argparse.Namespace) -> int:
    records = run_with_store(lambda store: ConsentRegistry(store).all())
    for r in records:
        print(
            f"{r.pupil_key or '-':9} {r.pupil:30} {r.consent.value:8} {r.date}  parent: {r.parent_email}"
            + (f"  school: {r.pupil_school_email}" if r.pupil_school_email else "")
        )
    print(f"{len(records)} pupil(s)")
    return 0
