"""SLT approve or decline a teacher's request to record (where the protocol needs SLT approval)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import texts
from bot.chat import Actor, CardAction, Reply
from bot.commands.router import Router
from bot.errors import UsageError
from bot.sessions import cards, workflow

if TYPE_CHECKING:
    from bot.services import Services


def register(router: Router) -> None:
    async def decide(actor: Actor, action: CardAction, services: Services, approve: bool) -> Reply:
        ref = str(action.data.get("ref") or "")
        if not ref:
            raise UsageError(texts.CARD_NO_SESSION)
        session = await workflow.decide_recording(actor, ref, approve, services)
        return Reply(replace=cards.recording_card(session, services.timezone, workflow.recording_sentence(services)))

    @router.verb("recording.approve", roles=("slt",))
    async def approve(actor: Actor, action: CardAction, services: Services) -> Reply:
        return await decide(actor, action, services, True)

    @router.verb("recording.decline", roles=("slt",))
    async def decline(actor: Actor, action: CardAction, services: Services) -> Reply:
        return await decide(actor, action, services, False)
