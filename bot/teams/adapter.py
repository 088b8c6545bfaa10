"""The CloudAdapter, configured from Chaperone's settings (MICROSOFT_APP_* environment names)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from bot.config import Settings

log = logging.getLogger(__name__)


def _fast_retry_policy() -> None:
    """botbuilder builds msrest connector clients on every turn, and each builds a
    ``ClientRetryPolicy`` whose constructor scans a 501-item *list* for each of 999 status codes
    (about 60% of a turn's CPU, measured). The same codes in a frozenset give the same policy
    for a fraction of the cost. Patched once, here, where botbuilder lives."""
    from msrest.universal_http.requests import ClientRetryPolicy

    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


_fast_retry_policy()


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
