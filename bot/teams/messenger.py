"""TeamsMessenger: proactive posts and in-place card updates through the Bot Connector.

The one choke point for what leaves the bot proactively: a card whose audience is private (it may
name pupils or carry narrative) is refused for any conversation but a personal chat, and the
refusal is audited.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters
from botbuilder.schema import Mention as TeamsMention

from bot import texts
from bot.audit import Audit
from bot.chat import Card, CardRef, Contact, Mention, Where, audience_of, may_show
from bot.errors import ExternalServiceError, NotFound, NotPermitted
from bot.store.base import Store
from bot.teams.adapter import wire
from bot.teams.connector import Connector
from bot.teams.translate import card_activity, reference_doc, reference_of

log = logging.getLogger(__name__)
TABLE = "conversations"
#: Stored conversation references are read on every turn and every channel post, and change
#: rarely: this process keeps what it read or wrote for this long (several instances, or the CLI,
#: may change one; such a change is seen here within REF_TTL). Absent references are never cached.
REF_TTL = 30.0
REF_MAX = 50_000
#: A channel post's thread is addressed as ``thread:<channel key>|<thread id>``: its reference is
#: the channel's with the thread's id, so a post stores nothing (older ``conv:<thread>`` keys still work).
THREAD = "thread:"


class TeamsMessenger:
    def __init__(self, connector: Connector, store: Store, app_id: str) -> None:
        self._connector = connector
        self._store = store
        self._app_id = app_id
        #: The bot's own channel account id, as Teams addresses it (learnt from incoming activities).
        self.bot_id: str | None = None
        self._refs: dict[str, tuple[float, dict[str, Any]]] = {}

    async def _read(self, key: str) -> dict[str, Any] | None:
        hit = self._refs.get(key)
        if hit is not None and time.monotonic() - hit[0] < REF_TTL:
            return dict(hit[1])
        rec = await self._store.get(TABLE, key)
        if rec is None:
            self._refs.pop(key, None)
            return None
        self._keep(key, rec.doc)
        return dict(rec.doc)

    def _keep(self, key: str, doc: dict[str, Any]) -> None:
        if len(self._refs) >= REF_MAX:
            self._refs.clear()
        self._refs[key] = (time.monotonic(), dict(doc))

    async def _write(self, key: str, doc: dict[str, Any]) -> None:
        self._refs.pop(key, None)  # a failed write leaves nothing cached
        await self._store.upsert(TABLE, key, doc)
        self._keep(key, doc)

    async def _doc(self, key: str) -> dict[str, Any]:
        if key.startswith(THREAD) and "|" in key:
            channel_key, _, thread = key[len(THREAD) :].partition("|")
            return {**await self._doc(channel_key), "conversation_id": thread}
        doc = await self._read(key)
        if doc is None:
            raise NotFound(texts.NO_CONVERSATION.format(key=key))
        return doc

    async def has(self, conversation_key: str) -> bool:
        return await self._read(conversation_key) is not None

    async def remember(
        self, conversation_key: str, where: Where, *, user_id: str | None = None, bot_id: str | None = None
    ) -> None:
        existing = await self._read(conversation_key)
        bot = bot_id or self.bot_id or (existing.get("bot_id") if existing else None)
        doc = reference_doc(where, bot_id=bot, user_id=user_id)
        if existing is None or existing != doc:  # most turns change nothing: no write
            await self._write(conversation_key, doc)

    async def member(self, service_url: str, conversation_id: str, member_id: str) -> dict[str, Any]:
        """A member's profile (email, UPN, AAD object id) from the Bot Connector."""
        return await self._connector.member(service_url, conversation_id, member_id)

    async def roster_page(self, service_url: str, team_id: str, continuation: str | None) -> dict[str, Any]:
        """One page of a team's members (ids, names, emails, UPNs, AAD object ids, userRole)."""
        return await self._connector.paged_members(service_url, team_id, continuation=continuation)

    async def remember_doc(self, conversation_key: str, doc: dict[str, Any]) -> None:
        await self._write(conversation_key, doc)

    async def refresh_service_url(
        self, *, service_url: str, conversation_id: str | None = None, team_id: str | None = None
    ) -> int:
        """Installation and conversation-update events carry the current serviceUrl: keep stored references current."""
        changed = 0
        for rec in await self._store.query(TABLE):
            doc = rec.doc
            if doc.get("service_url") == service_url:
                continue
            if (conversation_id and doc.get("conversation_id") == conversation_id) or (
                team_id and doc.get("team_id") == team_id
            ):
                await self._write(rec.key, {**doc, "service_url": service_url})
                changed += 1
        return changed

    async def _guard(self, conversation_key: str, doc: dict[str, Any], card: Card) -> None:
        """Refuse (and audit) a private card for a channel or group chat."""
        kind = doc.get("kind")
        if may_show(
            card, "personal" if kind == "personal" else "channel"
        ):  # an unknown kind counts as shared: fail closed
            return
        await Audit(self._store).record(
            at=datetime.now(UTC),
            who="chaperone",
            action="refused.private_card",
            record=conversation_key,
            detail=f"kind={kind} audience={audience_of(card)}",
        )
        log.warning("private card refused conversation=%s kind=%s", conversation_key, kind)
        raise NotPermitted(texts.PRIVATE_CARD_REFUSED)

    async def post(self, conversation_key: str, card: Card) -> CardRef:
        await self._guard(conversation_key, await self._doc(conversation_key), card)
        return await self._post(conversation_key, card_activity(card))

    async def post_mentioning(self, conversation_key: str, card: Card, mentions: tuple[Mention, ...]) -> CardRef:
        await self._guard(conversation_key, await self._doc(conversation_key), card)
        return await self._post(conversation_key, mentioning(card, mentions))

    async def post_personal(self, aad_id: str, card: Card, *, contact: Contact | None = None) -> CardRef:
        key = f"user:{aad_id}"
        if await self.has(key) or contact is None:
            return await self.post(key, card)  # NotFound when there is no way to reach them
        where = Where("personal", "", tenant_id=contact.tenant_id, service_url=contact.service_url)
        return await self.send_private(key, user_id=contact.user_id, where=where, bot_id=self.bot_id, card=card)

    async def _post(self, conversation_key: str, activity: Activity) -> CardRef:
        doc = await self._doc(conversation_key)
        try:
            if doc.get("kind") == "channel":
                return await self._post_to_channel(conversation_key, doc, activity)
            return await self._post_to_conversation(conversation_key, doc, activity)
        except NotFound:
            raise
        except Exception as exc:  # the connector's errors are msrest types: keep them inside bot/teams
            log.warning("post failed conversation=%s error=%s", conversation_key, type(exc).__name__)
            raise ExternalServiceError(texts.TEAMS_MESSAGE_REFUSED) from exc

    async def _post_to_conversation(self, key: str, doc: dict[str, Any], activity: Activity) -> CardRef:
        activity = TurnContext.apply_conversation_reference(activity, reference_of(doc))
        sent = await self._connector.send(doc["service_url"], doc["conversation_id"], wire(activity))
        return CardRef(conversation_key=key, activity_id=sent)

    async def _post_to_channel(self, key: str, doc: dict[str, Any], activity: Activity) -> CardRef:
        """A new top-level post in the channel: its thread becomes a conversation of its own."""
        params = ConversationParameters(
            is_group=True,
            bot=ChannelAccount(id=doc.get("bot_id")) if doc.get("bot_id") else None,
            channel_data={
                "channel": {"id": doc["channel_id"] or doc["conversation_id"]},
                "tenant": {"id": doc.get("tenant_id")},
            },
            activity=activity,
            tenant_id=doc.get("tenant_id"),
        )
        created = await self._connector.create(doc["service_url"], wire(params))
        if key.startswith(THREAD):
            key = key[len(THREAD) :].partition("|")[0]
        return CardRef(conversation_key=f"{THREAD}{key}|{created.conversation_id}", activity_id=created.activity_id)

    async def update(self, posted: CardRef, card: Card) -> None:
        doc = await self._doc(posted.conversation_key)
        await self._guard(posted.conversation_key, doc, card)
        activity = TurnContext.apply_conversation_reference(
            card_activity(card, activity_id=posted.activity_id), reference_of(doc)
        )
        activity.id = posted.activity_id
        try:
            await self._connector.update(doc["service_url"], doc["conversation_id"], posted.activity_id, wire(activity))
        except Exception as exc:
            log.warning(
                "update failed conversation=%s activity=%s error=%s",
                posted.conversation_key,
                posted.activity_id,
                type(exc).__name__,
            )
            raise ExternalServiceError(texts.TEAMS_UPDATE_REFUSED) from exc

    async def send_private(
        self, user_key: str, *, user_id: str, where: Where, bot_id: str | None, card: Card
    ) -> CardRef:
        """To a user's personal chat: the stored one, or a new 1:1 conversation created now."""
        if await self.has(user_key):
            return await self.post(user_key, card)
        params = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=bot_id) if bot_id else None,
            members=[ChannelAccount(id=user_id)],
            channel_data={"tenant": {"id": where.tenant_id}},
            tenant_id=where.tenant_id,
        )
        if not where.service_url:
            raise ExternalServiceError(texts.TEAMS_NO_PERSONAL_CHAT)
        try:
            created = await self._connector.create(where.service_url, wire(params))
        except Exception as exc:
            log.warning("personal chat could not be created user=%s error=%s", user_key, type(exc).__name__)
            raise ExternalServiceError(texts.TEAMS_NO_PERSONAL_CHAT) from exc
        personal = Where("personal", created.conversation_id, tenant_id=where.tenant_id, service_url=where.service_url)
        await self.remember(user_key, personal, user_id=user_id, bot_id=bot_id)
        return await self.post(user_key, card)


def mentioning(card: Card, mentions: tuple[Mention, ...]) -> Activity:
    """A card activity whose text @mentions each person (Teams notifies a mentioned person)."""
    activity = card_activity(card)
    tags = [f"<at>{m.name}</at>" for m in mentions]
    activity.text = " ".join(tags)
    activity.entities = [
        TeamsMention(mentioned=ChannelAccount(id=m.id, name=m.name), text=tag, type="mention")
        for m, tag in zip(mentions, tags, strict=True)
    ]
    return activity
