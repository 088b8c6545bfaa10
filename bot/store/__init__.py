"""Persistence: the Store protocol and its implementations (TinyStore embedded, AzureTableStore shared)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.store.base import Record, Store

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["Record", "Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store CHAPERONE_STORE names: ``tinydb`` (default, in CHAPERONE_DATA_DIR) or ``tables``."""
    if settings.store == "tables":
        from bot.store.tables import AzureTableStore

        if settings.tables_endpoint:  # Azure: the managed identity, no key
            return AzureTableStore.with_identity(settings.tables_endpoint, client_id=settings.azure_client_id)
        return AzureTableStore(settings.tables_connection_string)
    from bot.store.tiny import TinyStore

    return TinyStore(settings.data_dir)
