"""Second adult: /join-as-second [REF] and the Accept button (Action.Execute, first accept wins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import texts
from bot.chat import Actor, CardAction, Command, Reply
from bot.commands.router import Router
from bot.errors import UsageError
from bot.sessions import cards, workflow
from bot.sessions.model import State

if TYPE_CHECKING:
    from bot.services import Services


def register(router: Router) -> None:
    @router.command(
        "join-as-second",
        summary=texts.HELP_SUMMARIES["join-as-second"],
        usage="/join-as-second [S-XXXXXX]",
        aliases=("join", "second"),
        roles=("slt", "staff"),
    )
    async def join_as_second(actor: Actor, cmd: Command, services: Services) -> Reply:
        if cmd.args:
            session = await workflow.accept_second(actor, cmd.args[0], services)
            return Reply(
                cards=(
                    cards.notice_card(
                        texts.ACCEPTED_TITLE,
                        texts.ACCEPTED.format(ref=session.ref),
                        facts=cards.request_facts(session, services.timezone),
                        shared=True,
                    ),
                )
            )
        waiting = await services.sessions.open_sessions(State.AWAITING_SECOND_ADULT)
        mine = sorted((s for s in waiting if workflow.eligible(actor, s)), key=lambda s: s.booking.start)
        return Reply(cards=(cards.request_list_card(mine, services.timezone),))

    @router.verb("second.accept", roles=("slt", "staff"))
    async def accept(actor: Actor, action: CardAction, services: Services) -> Reply:
        ref = str(action.data.get("ref") or "")
        if not ref:
            raise UsageError(texts.CARD_NO_SESSION)
        try:
            session = await workflow.accept_second(actor, ref, services)
        except workflow.AlreadyCovered as exc:
            return Reply(replace=cards.request_card(exc.session, services.timezone, headline=str(exc)))
        return Reply(
            replace=cards.request_card(session, services.timezone, headline=texts.ACCEPTED.format(ref=session.ref))
        )
