"""Posting and updating cards through the Messenger port where a failure must not stop a workflow."""

from __future__ import annotations

import logging

from bot.chat import Card, CardRef, Messenger
from bot.errors import ChaperoneError, NotFound

log = logging.getLogger(__name__)


async def post_or_none(messenger: Messenger, key: str, card: Card) -> CardRef | None:
    """Post a new card; None (logged by key, never by content) when it could not be posted."""
    try:
        return await messenger.post(key, card)
    except NotFound:
        log.warning("no %s conversation is set up; card not posted", key)
    except ChaperoneError as exc:
        log.warning("posting to %s failed: %s", key, type(exc).__name__)
    return None


async def update_quietly(messenger: Messenger, ref: CardRef, card: Card, *, record: str) -> bool:
    """Replace a posted card in place; False (logged with the record's reference) when Teams refused."""
    try:
        await messenger.update(ref, card)
    except Exception:
        log.warning("card update failed record=%s conversation=%s", record, ref.conversation_key, exc_info=True)
        return False
    return True
