"""Persistence: the Store protocol and its implementations."""

from bot.store.base import Record, Store

__all__ = ["Record", "Store"]
