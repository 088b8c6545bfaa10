"""The Teams transport as one object: identity, the connector client, the adapter, the messenger, the route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.commands.router import Router
from bot.config import Settings
from bot.errors import ConfigError
from bot.store.base import Store
from bot.teams.adapter import ChaperoneAdapter
from bot.teams.connector import Connector
from bot.teams.handler import ChaperoneBot
from bot.teams.identity import AppToken, KeySet, TokenValidator
from bot.teams.messenger import TeamsMessenger
from bot.teams.route import messages_route
from bot.texts import setup as setup_texts

if TYPE_CHECKING:
    from bot.services import Services


class TeamsTransport:
    """Fails closed at construction on a half configuration (``Settings.check_transport``)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        settings.check_transport()
        self.settings = settings
        self._store = store
        self._identity_session: aiohttp.ClientSession | None = None
        self.token: AppToken | None = None
        self.validator: TokenValidator | None = None
        self.keys: list[KeySet] = []
        if not settings.local_mode:
            timeout = settings.identity_timeout
            channel = KeySet(self._identity, settings.botframework_openid_url, timeout=timeout)
            tenant = KeySet(
                self._identity,
                f"{settings.entra_login_url.rstrip('/')}/{settings.app_tenant_id}/v2.0/.well-known/openid-configuration",
                timeout=timeout,
            )
            self.keys = [channel, tenant]
            self.validator = TokenValidator(
                app_id=settings.app_id, tenant_id=settings.app_tenant_id, channel_keys=channel, tenant_keys=tenant
            )
            self.token = AppToken(
                self._identity,
                settings.app_id,
                settings.app_password,
                settings.app_tenant_id,
                settings.app_type,
                settings.entra_login_url,
                timeout=timeout,
            )
        self.connector = Connector(self.token)
        self.adapter = ChaperoneAdapter(self.connector)
        self.messenger = TeamsMessenger(self.connector, store, settings.app_id)

    def _identity(self) -> aiohttp.ClientSession:
        """Identity calls have their own small pool: a hanging identity endpoint never holds the connector's."""
        if self._identity_session is None or self._identity_session.closed:
            self._identity_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8))
        return self._identity_session

    def route(self, router: Router, services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
        tenants = services.school.school.allowed_tenants
        if not tenants:
            raise ConfigError(setup_texts.config_no_tenant(services.school.path))
        bot = ChaperoneBot(router, services, self.messenger)
        return messages_route(
            self.adapter,
            bot.on_turn,
            validator=self.validator,
            tenants=tenants,
            store=self._store,
            clock=services.clock,
            max_turns=self.settings.max_turns,
        )

    async def start(self) -> None:
        """Start the background refresh of keys and token (nothing waits for them here)."""
        for keys in self.keys:
            keys.start()
        if self.token is not None:
            self.token.start()

    async def close(self) -> None:
        for keys in self.keys:
            await keys.close()
        if self.token is not None:
            await self.token.close()
        await self.connector.close()
        if self._identity_session is not None:
            await self._identity_session.close()
