"""A Messenger that records instead of sending: every card is validated against Adaptive Cards 1.5."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.chat import CardRef, Contact, Mention, Where
from bot.errors import NotFound
from tests.support.schemas import assert_valid_card


@dataclass
class RecordingMessenger:
    refs: dict[str, Where] = field(default_factory=dict)
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[CardRef, dict[str, Any]]] = field(default_factory=list)
    mentions: list[tuple[str, tuple[Mention, ...]]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    async def post(self, conversation_key: str, card: dict[str, Any]) -> CardRef:
        if conversation_key not in self.refs:
            raise NotFound(f"no {conversation_key}")
        assert_valid_card(card)
        self.posts.append((conversation_key, card))
        return CardRef(conversation_key=conversation_key, activity_id=f"act-{next(self.ids)}")

    async def post_mentioning(
        self, conversation_key: str, card: dict[str, Any], mentions: tuple[Mention, ...]
    ) -> CardRef:
        self.mentions.append((conversation_key, mentions))
        return await self.post(conversation_key, card)

    async def post_personal(self, aad_id: str, card: dict[str, Any], *, contact: Contact | None = None) -> CardRef:
        key = f"user:{aad_id}"
        if key not in self.refs and contact is not None:
            self.refs[key] = Where(
                "personal", f"conv-{aad_id}", tenant_id=contact.tenant_id, service_url=contact.service_url
            )
        return await self.post(key, card)

    async def update(self, posted: CardRef, card: dict[str, Any]) -> None:
        assert_valid_card(card)
        self.updates.append((posted, card))

    async def remember(self, conversation_key: str, where: Where, *, user_id: str | None = None) -> None:
        self.refs[conversation_key] = where

    async def has(self, conversation_key: str) -> bool:
        return conversation_key in self.refs

    def posted_to(self, key: str) -> list[dict[str, Any]]:
        return [c for k, c in self.posts if k == key]

    def updated(self, activity_id: str) -> list[dict[str, Any]]:
        return [c for p, c in self.updates if p.activity_id == activity_id]
