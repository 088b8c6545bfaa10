"""The aiohttp application factory: /api/messages and /healthz. Wiring only (the composition root)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.background import resume_all
from bot.commands.registry import build_router
from bot.commands.router import Router
from bot.config import Settings, load_school_config
from bot.meetings.factory import meetings_for
from bot.meetings.provider import MeetingProvider
from bot.services import Services, profile_for
from bot.store.base import Store
from bot.store import open_store
from bot.teams.transport import TeamsTransport

log = logging.getLogger(__name__)
SERVICES = web.AppKey("services", Services)
ROUTER = web.AppKey("router", Router)


def build_services(settings: Settings, *, store: Store | None = None, meetings: MeetingProvider | None = None, clock: Clock | None = None) -> tuple[Services, TeamsTransport]:
    """Everything a command needs, wired from the settings (also used by the CLI)."""
    school = load_school_config(settings.config_path)
    store = store or open_store(settings)
    transport = TeamsTransport(settings, store)
    services = Services(
        settings=settings, school=school, profile=profile_for(school), store=store,
        meetings=meetings or meetings_for(settings, store), messenger=transport.messenger, clock=clock or SystemClock(),
    )
    return services, transport


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    meetings: MeetingProvider | None = None,
    clock: Clock | None = None,
    router: Router | None = None,
    background: bool = True,
) -> web.Application:
    services, transport = build_services(settings, store=store, meetings=meetings, clock=clock)
    router = router or build_router()

    app = web.Application(client_max_size=256 * 1024)
    app[SERVICES] = services
    app[ROUTER] = router
    app.router.add_post("/api/messages", transport.route(router, services))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "profile": services.profile.id, "outbox": await services.outbox.backlog(services.store, services.clock.now())})

    app.router.add_get("/healthz", healthz)

    async def on_startup(app: web.Application) -> None:
        if background:
            await resume_all(services)

    async def on_cleanup(app: web.Application) -> None:
        await services.tasks.close()
        close = getattr(services.meetings, "close", None)
        if close is not None:
            await close()
        await services.store.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def run() -> None:
    settings = Settings.from_env()
    log.info("Chaperone starting port=%s mode=%s meetings=%s config=%s", settings.port, "local" if settings.local_mode else "azure", settings.meetings, settings.config_path)
    web.run_app(create_app(settings), host="0.0.0.0", port=settings.port, print=None, access_log=None)
