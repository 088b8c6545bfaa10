"""The Teams transport as one object: the adapter, the messenger, and the /api/messages route."""

from __future__ import annotations

from typing import Awaitable, Callable, TYPE_CHECKING

from aiohttp import web

from bot.commands.router import Router
from bot.config import Settings
from bot.store.base import Store
from bot.teams.adapter import build_adapter
from bot.teams.handler import ChaperoneBot
from bot.teams.messenger import TeamsMessenger
from bot.teams.route import messages_route

if TYPE_CHECKING:
    from bot.services import Services


class TeamsTransport:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.adapter = build_adapter(settings)
        self.messenger = TeamsMessenger(self.adapter, store, settings.app_id)

    def route(self, router: Router, services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
        bot = ChaperoneBot(router, services, self.messenger)
        return messages_route(self.adapter, bot.on_turn)
