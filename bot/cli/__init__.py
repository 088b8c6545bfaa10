"""The `chaperone` command line: one sub-command group per module, wired here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import policy as policy_cli
from bot.errors import ChaperoneError

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaperone", description="Chaperone: safe live online sessions with pupils, from Teams."
    )
    sub = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the bot's HTTP server (/api/messages, /healthz)")
    serve.set_defaults(func=_serve)
    policy_cli.register(sub)
    for name in ("consent", "register", "concern", "audit", "meetings", "store", "outbox"):
        try:
            module = __import__(f"bot.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError:
            continue
        module.register(sub)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from bot.app import run
    from bot.cli.store import refuse_if_damaged
    from bot.config import Settings

    if refuse_if_damaged(Settings.from_env()):
        return EXIT_REFUSED

    run()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ChaperoneError as exc:
        print(f"chaperone: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
