"""`chaperone meetings verify [REF | --today] | cancel REF | attendance REF`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.cli.common import cli_actor
from bot.config import Settings
from bot.errors import ChaperoneError, UsageError
from bot.sessions import workflow
from bot.sessions.model import State

if TYPE_CHECKING:
    from bot.services import Services


def register(sub: Any) -> None:
    p = sub.add_parser("meetings", help="the Teams meetings of sessions: verify settings, cancel, attendance")
    ps = p.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    v = ps.add_parser("verify", help="re-read the meeting settings, put back any that drifted and tell SLT")
    v.add_argument("ref", nargs="?")
    v.add_argument("--today", action="store_true", help="every scheduled session today")
    v.set_defaults(func=_verify)
    c = ps.add_parser("cancel", help="cancel a session and its meeting (families are told)")
    c.add_argument("ref")
    c.add_argument("--comment", help="what the cancellation tells the attendees")
    c.set_defaults(func=_cancel)
    a = ps.add_parser("attendance", help="fetch the attendance report of an ended session into the register")
    a.add_argument("ref")
    a.set_defaults(func=_attendance)


def _with_services(fn: Any) -> Any:
    async def go() -> Any:
        from bot.app import build_services

        services, _ = build_services(Settings.from_env())
        try:
            result = await fn(services)
            await services.tasks.drain()  # the card updates and notices it owes (outbox jobs) go now
            return result
        finally:
            await services.tasks.close()
            await services.meetings.close()  # the Graph client's and credential's HTTP sessions
            await services.store.close()

    return asyncio.run(go())


def _verify(args: argparse.Namespace) -> int:
    if not args.ref and not args.today:
        raise UsageError("Name a session (S-XXXXXX) or use --today.")

    async def go(services: Services) -> int:
        if args.ref:
            refs = [args.ref]
        else:
            tz = ZoneInfo(services.timezone)
            today = services.clock.now().astimezone(tz).date()
            refs = [
                s.ref
                for s in await services.sessions.open_sessions(State.SCHEDULED)
                if s.booking.start.astimezone(tz).date() == today
            ]
        drifted = 0
        for ref in refs:
            try:
                session, drift = await workflow.verify_meeting(ref, services, by=cli_actor())
            except ChaperoneError as exc:
                print(f"{ref}: {exc}", file=sys.stderr)
                drifted += 1
                continue
            if drift:
                drifted += 1
                print(
                    f"{session.ref}: put back "
                    + ", ".join(f"{d.field} (was {d.found!r}, now {d.expected!r})" for d in drift)
                )
            else:
                print(f"{session.ref}: settings as the protocol requires")
        print(f"{len(refs)} session(s) checked")
        return 1 if drifted else 0

    return int(_with_services(go))


def _cancel(args: argparse.Namespace) -> int:
    async def go(services: Services) -> int:
        session = await workflow.cancel_session(args.ref, services, by=cli_actor(), comment=args.comment)
        print(f"{session.ref}: cancelled")
        return 0

    return int(_with_services(go))


def _attendance(args: argparse.Namespace) -> int:
    async def go(services: Services) -> int:
        await workflow.collect_attendance(args.ref, services)
        session, _ = await services.sessions.get(args.ref)
        if session.closure and session.closure.attendance:
            print(
                f"{session.ref}: {len(session.closure.attendance)} participant(s); flags: {texts.attendance_flags(list(session.closure.flags)) or 'none'}"
            )
            return 0
        print(
            f"{session.ref}: no attendance report yet (it appears after the meeting ends); try again later",
            file=sys.stderr,
        )
        return 1

    return int(_with_services(go))
