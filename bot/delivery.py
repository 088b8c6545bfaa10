"""Updating cards through the Messenger port where a failure must not stop a workflow."""

from __future__ import annotations

import logging

from bot.chat import Card, CardRef, Messenger

log = logging.getLogger(__name__)


async def update_quietly(messenger: Messenger, ref: CardRef, card: Card, *, record: str) -> bool:
    """Replace a posted card in place; False (logged with the record's reference) when Teams refused."""
    try:
        await messenger.update(ref, card)
    except Exception:
        log.warning("card update failed record=%s conversation=%s", record, ref.conversation_key, exc_info=True)
        return False
    return True
