"""/today: SLT and the DSL see every session booked for today and where each one stands."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import texts
from bot.chat import Actor, Command, Reply
from bot.commands.router import Router
from bot.sessions import cards

if TYPE_CHECKING:
    from bot.services import Services


def register(router: Router) -> None:
    @router.command("today", summary=texts.HELP_SUMMARIES["today"], roles=("slt", "dsl", "admin"))
    async def today(actor: Actor, cmd: Command, services: Services) -> Reply:
        tz = ZoneInfo(services.timezone)
        day = services.clock.now().astimezone(tz).date()
        near = await services.sessions.on_days(
            (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
        )
        todays = sorted(
            (s for s in near if s.booking.start.astimezone(tz).date() == day), key=lambda s: s.booking.start
        )
        facts = [
            {
                "title": f"{s.booking.start.astimezone(tz):%H:%M} {s.ref}",
                "value": texts.TODAY_LINE.format(
                    state=texts.STATE_LABELS[s.state.value],
                    organiser=s.organiser.name,
                    second=s.second_adult.name if s.second_adult else "–",
                    pupils=len(s.booking.pupils),
                ),
            }
            for s in todays
        ]
        return Reply(
            cards=(
                cards.notice_card(
                    texts.TODAY_TITLE.format(date=day.isoformat()),
                    "" if todays else texts.TODAY_NONE,
                    facts=facts,
                    shared=True,
                ),
            )
        )
