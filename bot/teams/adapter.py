"""The CloudAdapter, configured from Chaperone's settings (MICROSOFT_APP_* environment names)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bot.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _AdapterConfig:
    """The attribute names botbuilder's configuration classes read."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def build_adapter(settings: Settings) -> CloudAdapter:
    config = _AdapterConfig(settings.app_id, settings.app_password, settings.app_type, settings.app_tenant_id)
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

    async def on_error(context: TurnContext, error: Exception) -> None:
        # Errors inside our handler are turned into cards by the router; this is the last resort.
        log.error("unhandled turn error activity=%s", getattr(context.activity, "id", None), exc_info=error)

    adapter.on_turn_error = on_error
    return adapter
