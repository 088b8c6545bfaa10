"""The turn handler: one activity in, our router called once, the reply rendered back."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, InvokeResponse

from bot import roles, texts
from bot.chat import Actor, Card, CardAction, Reply, may_show
from bot.commands.router import Router
from bot.errors import ChaperoneError
from bot.render import render
from bot.teams.identity import safe_id
from bot.teams.messenger import TeamsMessenger
from bot.teams.translate import INVOKE_CARD_ACTION, card_activity, input_of, invoke_body, invoke_message, where_of

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
MEMBER_TTL = 15 * 60.0
ROSTER_PAGES = 20


@dataclass(frozen=True)
class _Member:
    email: str | None
    upn: str | None
    aad_id: str | None
    at: float
    user_role: str | None = None


class ChaperoneBot:
    def __init__(self, router: Router, services: Services, messenger: TeamsMessenger) -> None:
        self.router = router
        self.services = services
        self.messenger = messenger
        self._members: dict[str, _Member] = {}
        self._lookups: dict[str, asyncio.Future[_Member]] = {}

    async def on_turn(self, ctx: TurnContext) -> None:
        activity = ctx.activity
        where = where_of(activity)
        if activity.recipient and activity.recipient.id:
            self.messenger.bot_id = activity.recipient.id
        if activity.type in (ActivityTypes.installation_update, ActivityTypes.conversation_update):
            await self._on_membership(activity, where)
            if where.team_id:
                await self._learn_roster(ctx, where)
            return
        inp = input_of(activity)
        if activity.type == ActivityTypes.invoke and activity.name != INVOKE_CARD_ACTION:
            await ctx.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body={}))
            )
            return
        if inp is None:
            return
        actor = await self._actor(ctx, where)
        await self._remember(actor, activity)
        reply = await self.router.dispatch(actor, inp, self.services)
        await self._render(ctx, actor, inp, reply)

    async def _on_membership(self, activity: Activity, where: Any) -> None:
        bot_id = activity.recipient.id if activity.recipient else None
        await self.messenger.refresh_service_url(
            service_url=activity.service_url,
            conversation_id=where.channel_id or where.conversation_id,
            team_id=where.team_id,
        )
        await self.messenger.remember(f"conv:{where.conversation_id}", where, bot_id=bot_id)
        if where.kind == "personal" and activity.from_property and activity.from_property.aad_object_id:
            await self.messenger.remember(
                f"user:{activity.from_property.aad_object_id}", where, user_id=activity.from_property.id, bot_id=bot_id
            )

    async def _learn_roster(self, ctx: TurnContext, where: Any) -> None:
        """The team's roster: each member of the school's staff becomes reachable (mention, proactive 1:1) before they message the bot."""
        token: str | None = None
        try:
            for _ in range(ROSTER_PAGES):
                page = await self.messenger.roster_page(ctx.activity.service_url, where.team_id, token)
                for m in page.get("members") or []:
                    if m.get("aadObjectId"):
                        await roles.resolve(
                            Actor(
                                user_id=m.get("id") or "",
                                aad_id=m["aadObjectId"],
                                name=m.get("name") or "",
                                email=m.get("email"),
                                upn=m.get("userPrincipalName"),
                                where=replace(where, kind="personal", conversation_id=""),
                                user_role=m.get("userRole"),
                            ),
                            self.services,
                        )
                token = page.get("continuationToken")
                if not token:
                    break
        except Exception as exc:
            log.warning("roster not read team=%s error=%s", where.team_id, type(exc).__name__)

    async def _remember(self, actor: Actor, activity: Activity) -> None:
        """Keep the conversation reference current. A failed write (disk full, read-only store) is
        logged and the turn goes on: the router still answers, with an error card if the command
        itself cannot write."""
        bot_id = activity.recipient.id if activity.recipient else None
        try:
            await self.messenger.remember(
                f"conv:{actor.where.conversation_id}", actor.where, user_id=actor.user_id, bot_id=bot_id
            )
            if actor.where.kind == "personal" and actor.aad_id:
                await self.messenger.remember(f"user:{actor.aad_id}", actor.where, user_id=actor.user_id, bot_id=bot_id)
        except ChaperoneError as exc:
            log.warning("conversation reference not stored user=%s error=%s", actor.user_id, type(exc).__name__)

    async def _actor(self, ctx: TurnContext, where: Any) -> Actor:
        who = ctx.activity.from_property
        user_id = who.id if who else ""
        member = self._members.get(user_id)
        if member is None or time.monotonic() - member.at > MEMBER_TTL:
            member = await self._lookup(ctx, where, user_id)
        return Actor(
            user_id=user_id,
            aad_id=(who.aad_object_id if who else None) or member.aad_id,
            name=(who.name if who else None) or "Someone",
            email=member.email,
            upn=member.upn,
            where=where,
            user_role=member.user_role,
        )

    async def _lookup(self, ctx: TurnContext, where: Any, user_id: str) -> _Member:
        """One Bot Connector member look-up per user at a time; concurrent turns share it."""
        pending = self._lookups.get(user_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Member] = asyncio.get_running_loop().create_future()
        self._lookups[user_id] = future
        try:
            try:
                m = await self.messenger.member(
                    ctx.activity.service_url, where.team_id or where.conversation_id, user_id
                )
                member = _Member(
                    m.get("email"),
                    m.get("userPrincipalName"),
                    m.get("aadObjectId"),
                    time.monotonic(),
                    m.get("userRole"),
                )
                self._members[user_id] = member
            except Exception as exc:
                log.warning("member lookup failed user=%s error=%s", safe_id(user_id), type(exc).__name__)
                member = _Member(None, None, None, 0.0)
            future.set_result(member)
            return member
        finally:
            del self._lookups[user_id]
            if not future.done():
                future.cancel()

    async def _render(self, ctx: TurnContext, actor: Actor, inp: Any, reply: Reply) -> None:
        """The reply back to Teams. A private card never goes to a channel or group chat: it goes to
        the actor's personal chat instead, with a one-line pointer here."""
        kind = actor.where.kind
        private: list[Card] = []
        replacing = reply.replace
        if replacing is not None and not may_show(replacing, kind):
            private.append(replacing)
            replacing = None
        here = [c for c in reply.cards if may_show(c, kind)]
        private += [c for c in reply.cards if not may_show(c, kind)]
        pointer = kind != "personal" and bool(private or reply.private) and not here and replacing is None
        if pointer:
            log.info("private reply moved to personal chat conversation_kind=%s cards=%d", kind, len(private))
        reply = Reply(cards=tuple(here), replace=replacing, private=(*private, *reply.private))
        execute = isinstance(inp, CardAction) and inp.kind == "execute"
        if execute:
            body = (
                invoke_body(reply.replace)
                if reply.replace is not None or not pointer
                else invoke_message(texts.SENT_PRIVATELY)
            )
            await ctx.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
            )
        elif reply.replace is not None:
            updated = False
            if isinstance(inp, CardAction) and inp.card_activity_id:
                try:
                    await ctx.update_activity(card_activity(reply.replace, activity_id=inp.card_activity_id))
                    updated = True
                except Exception as exc:
                    log.warning("in-place update failed activity=%s error=%s", inp.card_activity_id, type(exc).__name__)
            if not updated:
                await ctx.send_activity(card_activity(reply.replace))
        for card in reply.cards:
            await ctx.send_activity(card_activity(card))
        if pointer and not execute:
            await ctx.send_activity(card_activity(_pointer()))
        if reply.private:
            bot_id = ctx.activity.recipient.id if ctx.activity.recipient else None
            for card in reply.private:
                await self.messenger.send_private(
                    f"user:{actor.key}", user_id=actor.user_id, where=actor.where, bot_id=bot_id, card=card
                )


def _pointer() -> Card:
    """The one line left in a shared conversation when a reply went to personal chat instead."""
    return render(
        "notice",
        {"title": texts.SENT_PRIVATELY_TITLE, "lines": [texts.SENT_PRIVATELY], "facts": [], "audience": "shared"},
    )
