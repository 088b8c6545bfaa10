"""/setup safeguarding | slt: an admin chooses the channel the register and the SLT requests go to."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import texts
from bot.chat import Actor, Command, Reply
from bot.commands.router import Router
from bot.errors import UsageError
from bot.sessions import cards

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


def register(router: Router) -> None:
    @router.command("setup", summary=texts.HELP_SUMMARIES["setup"], usage="/setup safeguarding | slt", roles=("admin",))
    async def setup(actor: Actor, cmd: Command, services: Services) -> Reply:
        what = cmd.args[0].lower() if cmd.args else ""
        if what not in texts.SETUP_WHAT:
            raise UsageError(texts.SETUP_USAGE)
        if actor.where.kind != "channel" or not actor.where.channel_id:
            raise UsageError(texts.SETUP_NOT_CHANNEL)
        await services.messenger.remember(f"channel:{what}", actor.where)
        log.info(
            "channel set up what=%s team=%s channel=%s by=%s",
            what,
            actor.where.team_id,
            actor.where.channel_id,
            actor.key,
        )
        return Reply(
            cards=(
                cards.notice_card(
                    texts.SETUP_DONE_TITLE, texts.SETUP_DONE.format(what=texts.SETUP_WHAT[what]), shared=True
                ),
            )
        )
