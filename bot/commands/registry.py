"""Every command and card verb, registered in one place."""

from __future__ import annotations

from bot.commands import book, concern, end, help, recording, second, setup, today
from bot.commands.router import Router


def build_router() -> Router:
    router = Router()
    for module in (help, book, second, setup, end, concern, today, recording):
        module.register(router)
    return router
