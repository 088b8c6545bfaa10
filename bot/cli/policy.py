"""`chaperone policy list | show | check | try | matrix`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import EXAMPLE_CONFIG, load_school_config
from bot.errors import UsageError
from bot.policy.booking import Booking
from bot.policy.describe import matrix, show
from bot.policy.engine import evaluate
from bot.policy.loader import ProfileInvalid, bundled, bundled_ids, load_profile_file

MATRIX_PATH = Path("docs/policies.md")


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="policy profiles: list, show, check, try, matrix")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    ps.add_parser("list", help="the bundled profiles").set_defaults(func=_list)
    s = ps.add_parser("show", help="a profile's rules with their sentences, and its checklists")
    s.add_argument("id")
    s.set_defaults(func=_show)
    c = ps.add_parser("check", help="validate a school's own profile file")
    c.add_argument("file")
    c.set_defaults(func=_check)
    t = ps.add_parser("try", help="check a booking (JSON) against a profile; prints the decision")
    t.add_argument("--profile", required=True, help="bundled profile id, or a profile file path")
    t.add_argument("--config", help="school config TOML (default: the bundled example)")
    t.add_argument("--now", help="ISO-8601 time to evaluate at (default: now)")
    t.add_argument("booking")
    t.set_defaults(func=_try)
    mtx = ps.add_parser("matrix", help="print (or --write) the compliance matrix docs/policies.md")
    mtx.add_argument("--write", nargs="?", const=str(MATRIX_PATH), help="write to this file")
    mtx.set_defaults(func=_matrix)


def _profile(ref: str) -> Any:
    return load_profile_file(ref) if ref.endswith(".toml") or "/" in ref else bundled(ref)


def _list(args: argparse.Namespace) -> int:
    for pid in bundled_ids():
        p = bundled(pid)
        print(f"{pid:22} {p.name}  ({p.source})")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(show(_profile(args.id)))
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        p = load_profile_file(args.file)
    except ProfileInvalid as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); the profile was not accepted.", file=sys.stderr)
        return 2
    print(f"{args.file}: valid profile {p.id} ({len(p.rules)} rules, {len(p.checklist)} checklist items)")
    return 0


def _try(args: argparse.Namespace) -> int:
    profile = _profile(args.profile)
    school = load_school_config(args.config or EXAMPLE_CONFIG)
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError as exc:
        raise UsageError(f"--now is not an ISO-8601 time: {args.now!r}.") from exc
    if now.tzinfo is None:
        raise UsageError("--now needs a UTC offset, e.g. 2026-11-23T09:00:00+00:00.")
    try:
        raw = Path(args.booking).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot read {args.booking}: {exc.strerror}.") from exc
    try:
        booking = Booking.model_validate_json(raw)
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(x) for x in e["loc"]) or "booking"
            print(f"{args.booking}: {where}: {e['msg']}", file=sys.stderr)
        return 2
    decision = evaluate(profile, school.policy_facts(), booking, now)
    json.dump(decision.to_json(), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0 if decision.allowed else 1


def _matrix(args: argparse.Namespace) -> int:
    text = matrix()
    if args.write:
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return 0
