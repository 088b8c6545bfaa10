"""/help, the reply to an unknown command, and the one mapping from an error to its card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import texts
from bot.chat import Actor, Command, Reply
from bot.commands.router import Router
from bot.errors import ChaperoneError, Conflict, NotFound, NotPermitted, PolicyViolation, UsageError
from bot.render import render

if TYPE_CHECKING:
    from bot.services import Services

TITLES: list[tuple[type[ChaperoneError], str]] = [
    (UsageError, texts.ERROR_TITLES["usage"]),
    (NotFound, texts.ERROR_TITLES["not_found"]),
    (NotPermitted, texts.ERROR_TITLES["not_permitted"]),
    (PolicyViolation, texts.ERROR_TITLES["policy"]),
    (Conflict, texts.ERROR_TITLES["conflict"]),
    (ChaperoneError, texts.ERROR_TITLES["error"]),
]


def error_card(exc: ChaperoneError, reference: str) -> dict[str, Any]:
    """The error card for any ChaperoneError, chosen by the exception's class (most specific first)."""
    title = next(t for cls, t in TITLES if isinstance(exc, cls))
    # A form's refusal may repeat what was typed (a pupil's name): personal chat only. Others name no pupil.
    audience = "private" if isinstance(exc, (UsageError, PolicyViolation)) else "shared"
    return render(
        "error", {"title": title, "message": str(exc), "hint": exc.hint, "reference": reference, "audience": audience}
    )


def help_card(router: Router, actor: Actor, services: Services, unknown: str = "") -> dict[str, Any]:
    commands = [{"usage": c.usage, "summary": c.summary} for c in router.available(actor)]
    return render(
        "help",
        {
            "unknown": unknown,
            "school": services.school.school.name,
            "profile": services.profile.name,
            "commands": commands,
        },
    )


def register(router: Router) -> None:
    @router.command("help", summary=texts.HELP_SUMMARIES["help"], aliases=("start", "hi", "hello", "?"))
    async def help_(actor: Actor, cmd: Command, services: Services) -> Reply:
        return Reply(cards=(help_card(router, actor, services),))

    async def unknown(actor: Actor, cmd: Command, services: Services) -> Reply:
        return Reply(cards=(help_card(router, actor, services, texts.UNKNOWN_COMMAND.format(name=cmd.name[:40])),))

    router.unknown = unknown
    router.error_card = error_card
