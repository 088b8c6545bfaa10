"""`chaperone concern ...` (export, a child's file, chronology, legal hold) and `chaperone retention`: for the DSL."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from bot import texts
from bot.audit import Audit
from bot.cli.common import PrivateFile, audit_export, cli_actor, run_with_store, school_timezone
from bot.concerns import chronology as chrono
from bot.concerns import retention
from bot.concerns.case import Case
from bot.concerns.repo import Concerns
from bot.config import Settings, load_school_config
from bot.consent import ConsentRegistry
from bot.errors import NotFound
from bot.services import profile_for
from bot.sessions.register import to_csv

COLUMNS = [
    "reference",
    "raised_at",
    "raised_by",
    "raised_by_email",
    "pupil",
    "category",
    "immediate_risk",
    "when",
    "where",
    "session",
    "what_was_seen_or_heard",
    "childs_own_words",
    "action_taken",
    "session_ended",
    "acknowledged_by",
    "acknowledged_at",
]


def register(sub: Any) -> None:
    p = sub.add_parser("concern", help="safeguarding concerns (DSL)")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    e = ps.add_parser(
        "export", help="all concerns as CSV, or with --pupil one child's file as JSON; owner-only file, audited"
    )
    e.add_argument("--format", choices=["csv"], default="csv")
    e.add_argument("--pupil", metavar="KEY", help="one child's file (concerns with their case, sessions) for transfer")
    e.add_argument("--output", "-o", required=True)
    e.set_defaults(func=_export)
    c = ps.add_parser("chronology", help="a pupil's concerns and sessions, newest first (audited)")
    c.add_argument("pupil", nargs="+", metavar="PUPIL", help="the pupil's key (P-XXXXXX) or name")
    c.set_defaults(func=_chronology)
    h = ps.add_parser("hold", help="put a concern (or session) on legal hold: retention keeps it")
    h.add_argument("ref", metavar="REF")
    h.add_argument("--release", action="store_true", help="lift the hold")
    h.add_argument("--reason", default="")
    h.set_defaults(func=_hold)
    r = sub.add_parser(
        "retention", help="delete register entries and concerns past their retention (not those on hold)"
    )
    r.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    r.set_defaults(func=_retention)


def _now() -> datetime:
    return datetime.now(UTC)


def _export(args: argparse.Namespace) -> int:
    if args.pupil:
        return _export_pupil(args)

    async def go(store: Any) -> int:
        concerns = sorted(await Concerns(store).all(), key=lambda c: c.raised_at)
        body = [
            [
                c.ref,
                c.raised_at.isoformat(),
                c.raised_by_name,
                c.raised_by_email or "",
                c.pupil,
                c.category,
                "yes" if c.immediate_risk else "no",
                c.when.isoformat(),
                c.where,
                c.session_ref or "",
                c.what,
                c.child_words,
                c.action_taken,
                "yes" if c.session_ended else "no",
                c.acknowledged_by_name or "",
                c.acknowledged_at.isoformat() if c.acknowledged_at else "",
            ]
            for c in concerns
        ]
        out = PrivateFile(args.output)
        try:
            await audit_export(store, action="concern.exported", record="*", detail=f"count={len(concerns)}")
            out.write(to_csv(COLUMNS, body))
        finally:
            out.close()
        return len(concerns)

    n = run_with_store(go)
    print(f"wrote {n} concern(s) to {args.output} (readable by its owner only)", file=sys.stderr)
    return 0


async def _pupil(store: Any, wanted: str) -> Any:
    pupil = await ConsentRegistry(store).lookup(wanted)
    if pupil is None:
        raise NotFound(f"No pupil {wanted!r} is in the consent registry.")
    return pupil


def _export_pupil(args: argparse.Namespace) -> int:
    async def go(store: Any) -> int:
        pupil = await _pupil(store, args.pupil)
        case = Case(store)
        concerns = sorted(await chrono.concerns_of(pupil, store), key=lambda c: c.raised_at)
        sessions = sorted(await chrono.sessions_of(pupil, store), key=lambda s: s.booking.start)
        file = {
            "pupil": {
                "key": pupil.pupil_key,
                "name": pupil.pupil,
                "date_of_birth": pupil.date_of_birth.isoformat() if pupil.date_of_birth else None,
            },
            "exported_at": _now().isoformat(),
            "concerns": [
                {
                    **c.model_dump(mode="json", exclude={"alert_card", "notices", "open", "day"}),
                    "case": [e.model_dump(mode="json", exclude={"day"}) for e in await case.entries(c.ref)],
                }
                for c in concerns
            ],
            "sessions": [
                {
                    "ref": s.ref,
                    "start": s.booking.start.isoformat(),
                    "type": s.booking.type.value,
                    "reason": s.booking.reason.value,
                    "state": s.state.value,
                    "organiser": s.organiser.name,
                    "second_adult": s.second_adult.name if s.second_adult else None,
                    "closure": s.closure.model_dump(
                        mode="json", include={"outcome", "early_reason", "actual_start", "actual_end", "pupils", "note"}
                    )
                    if s.closure
                    else None,
                }
                for s in sessions
            ],
        }
        out = PrivateFile(args.output)
        try:
            await audit_export(
                store,
                action="pupil.file.exported",
                record=pupil.pupil_key,
                detail=f"concerns={len(concerns)} sessions={len(sessions)}",
            )
            out.write(json.dumps(file, indent=2, ensure_ascii=False) + "\n")
        finally:
            out.close()
        return len(concerns)

    n = run_with_store(go)
    print(f"wrote the child's file ({n} concern(s)) to {args.output} (readable by its owner only)", file=sys.stderr)
    return 0


def _chronology(args: argparse.Namespace) -> int:
    tz = school_timezone()

    async def go(store: Any) -> list[str]:
        pupil = await _pupil(store, " ".join(args.pupil))
        items = await chrono.chronology(pupil, store)
        await Audit(store).record(
            at=_now(),
            who=cli_actor(),
            action="pupil.chronology.viewed",
            record=pupil.pupil_key,
            detail=f"items={len(items)}",
        )
        from zoneinfo import ZoneInfo

        lines = [f"{pupil.pupil} ({pupil.pupil_key}): {len(items)} item(s), newest first"]
        lines += [f"{i.at.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}  {i.kind:8} {i.ref}  {i.summary}" for i in items]
        return lines

    print("\n".join(run_with_store(go)))
    return 0


def _hold(args: argparse.Namespace) -> int:
    async def go(store: Any) -> None:
        await retention.hold(store, args.ref, who=cli_actor(), at=_now(), release=args.release, reason=args.reason)

    run_with_store(go)
    print(f"{args.ref.upper()}: legal hold {'lifted' if args.release else 'set'} (audited)", file=sys.stderr)
    return 0


def _retention(args: argparse.Namespace) -> int:
    rules = profile_for(load_school_config(Settings.from_env().config_path)).retention

    async def go(store: Any) -> list[str]:
        now = _now()
        if args.dry_run:
            due = await retention.plan(store, rules, now.date())
            return [
                f"{'HOLD ' if d.held else 'would delete '}{d.table[:-1]} {d.ref} (kept until {d.keep_until.isoformat()})"
                for d in due
            ]
        return [
            f"deleted {d.table[:-1]} {d.ref} (kept until {d.keep_until.isoformat()})"
            for d in await retention.run(store, rules, now, who=cli_actor())
        ]

    lines = run_with_store(go)
    print("\n".join(lines) if lines else texts.RETENTION_NOTHING)
    return 0
