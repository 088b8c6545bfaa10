"""TeamsMessenger: proactive posts and in-place card updates through the Bot Connector."""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ChannelAccount, ConversationParameters

from bot.chat import Card, CardRef, Where
from bot.errors import ExternalServiceError, NotFound
from bot.store.base import Store
from bot.teams.translate import card_activity, reference_doc, reference_of

log = logging.getLogger(__name__)
TABLE = "conversations"


class TeamsMessenger:
    def __init__(self, adapter: CloudAdapter, store: Store, app_id: str) -> None:
        self._adapter = adapter
        self._store = store
        self._app_id = app_id
        #: The bot's own channel account id, as Teams addresses it (learnt from incoming activities).
        self.bot_id: str | None = None

    async def _doc(self, key: str) -> dict[str, Any]:
        rec = await self._store.get(TABLE, key)
        if rec is not None:
            return rec.doc
        thread = await self._thread_doc(key)
        if thread is None:
            raise NotFound(f"Chaperone has no conversation stored for {key}.")
        return thread

    async def _thread_doc(self, key: str) -> dict[str, Any] | None:
        """A thread Chaperone started in a channel (``conv:<channel>;messageid=<id>``) is reached
        through its channel's stored reference, so posting one needs no store write between the
        post and the outbox recording it as done (a crash there would post it twice)."""
        conversation = key.removeprefix("conv:")
        channel, sep, _ = conversation.partition(";messageid=")
        if not key.startswith("conv:") or not sep:
            return None
        for rec in await self._store.query(TABLE, {"kind": "channel", "channel_id": channel}):
            return {**rec.doc, "conversation_id": conversation}
        return None

    async def has(self, conversation_key: str) -> bool:
        return await self._store.get(TABLE, conversation_key) is not None

    async def remember(self, conversation_key: str, where: Where, *, user_id: str | None = None, bot_id: str | None = None) -> None:
        existing = await self._store.get(TABLE, conversation_key)
        bot = bot_id or self.bot_id or (existing.doc.get("bot_id") if existing else None)
        doc = reference_doc(where, bot_id=bot, user_id=user_id)
        if existing is None or existing.doc != doc:  # most turns change nothing: no write
            await self._store.upsert(TABLE, conversation_key, doc)

    async def remember_doc(self, conversation_key: str, doc: dict[str, Any]) -> None:
        await self._store.upsert(TABLE, conversation_key, doc)

    async def refresh_service_url(self, *, service_url: str, conversation_id: str | None = None, team_id: str | None = None) -> int:
        """Installation and conversation-update events carry the current serviceUrl: keep stored references current."""
        changed = 0
        for rec in await self._store.query(TABLE):
            doc = rec.doc
            if doc.get("service_url") == service_url:
                continue
            if (conversation_id and doc.get("conversation_id") == conversation_id) or (team_id and doc.get("team_id") == team_id):
                await self._store.upsert(TABLE, rec.key, {**doc, "service_url": service_url})
                changed += 1
        return changed

    async def post(self, conversation_key: str, card: Card) -> CardRef:
        doc = await self._doc(conversation_key)
        try:
            if doc.get("kind") == "channel":
                return await self._post_to_channel(doc, card)
            return await self._post_to_conversation(conversation_key, doc, card)
        except NotFound:
            raise
        except Exception as exc:  # the connector's errors are msrest types: keep them inside bot/teams
            log.warning("post failed conversation=%s error=%s", conversation_key, type(exc).__name__)
            raise ExternalServiceError("Teams did not accept the message.") from exc

    async def _post_to_conversation(self, key: str, doc: dict[str, Any], card: Card) -> CardRef:
        sent: dict[str, str] = {}

        async def send(ctx: TurnContext) -> None:
            response = await ctx.send_activity(card_activity(card))
            sent["id"] = response.id if response else ""

        await self._adapter.continue_conversation(reference_of(doc), send, self._app_id)
        return CardRef(conversation_key=key, activity_id=sent["id"])

    async def _post_to_channel(self, doc: dict[str, Any], card: Card) -> CardRef:
        """A new top-level post in the channel: its thread becomes a conversation of its own."""
        created: dict[str, str] = {}

        async def capture(ctx: TurnContext) -> None:
            created["conversation"] = ctx.activity.conversation.id
            created["activity"] = ctx.activity.id

        params = ConversationParameters(
            is_group=True,
            bot=ChannelAccount(id=doc.get("bot_id")) if doc.get("bot_id") else None,
            channel_data={"channel": {"id": doc["channel_id"] or doc["conversation_id"]}, "tenant": {"id": doc.get("tenant_id")}},
            activity=card_activity(card),
            tenant_id=doc.get("tenant_id"),
        )
        await self._adapter.create_conversation(self._app_id, capture, params, "msteams", doc["service_url"], None)
        return CardRef(conversation_key=f"conv:{created['conversation']}", activity_id=created["activity"])

    async def update(self, posted: CardRef, card: Card) -> None:
        doc = await self._doc(posted.conversation_key)

        async def update(ctx: TurnContext) -> None:
            await ctx.update_activity(card_activity(card, activity_id=posted.activity_id))

        try:
            await self._adapter.continue_conversation(reference_of(doc), update, self._app_id)
        except Exception as exc:
            log.warning("update failed conversation=%s activity=%s error=%s", posted.conversation_key, posted.activity_id, type(exc).__name__)
            raise ExternalServiceError("Teams did not accept the card update.") from exc

    async def send_private(self, user_key: str, *, user_id: str, where: Where, bot_id: str | None, card: Card) -> CardRef:
        """To a user's personal chat: the stored one, or a new 1:1 conversation created now."""
        if await self.has(user_key):
            return await self.post(user_key, card)
        created: dict[str, str] = {}

        async def send(ctx: TurnContext) -> None:
            created["conversation"] = ctx.activity.conversation.id
            response = await ctx.send_activity(card_activity(card))
            created["activity"] = response.id if response else ""

        params = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=bot_id) if bot_id else None,
            members=[ChannelAccount(id=user_id)],
            channel_data={"tenant": {"id": where.tenant_id}},
            tenant_id=where.tenant_id,
        )
        try:
            await self._adapter.create_conversation(self._app_id, send, params, "msteams", where.service_url, None)
        except Exception as exc:
            log.warning("personal chat could not be created user=%s error=%s", user_key, type(exc).__name__)
            raise ExternalServiceError("Teams did not let Chaperone open a personal chat with you; message Chaperone directly once, then try again.") from exc
        personal = Where("personal", created["conversation"], tenant_id=where.tenant_id, service_url=where.service_url)
        await self.remember(user_key, personal, user_id=user_id, bot_id=bot_id)
        return CardRef(conversation_key=user_key, activity_id=created.get("activity", ""))
