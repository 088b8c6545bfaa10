"""The aiohttp application factory: /api/messages and /healthz. Wiring only (the composition root)."""

from __future__ import annotations

import gc
import logging

from aiohttp import web

from bot.background import resume_all
from bot.clock import Clock, SystemClock
from bot.commands.registry import build_router
from bot.commands.router import Router
from bot.config import Settings
from bot.meetings.factory import meetings_for
from bot.meetings.provider import MeetingProvider
from bot.roles import ROLE_NAMES, Directory, group_id
from bot.services import Services, profile_for
from bot.store import open_store
from bot.store.base import Store
from bot.teams.transport import TeamsTransport

log = logging.getLogger(__name__)
SERVICES = web.AppKey("services", Services)
ROUTER = web.AppKey("router", Router)


def build_services(
    settings: Settings,
    *,
    store: Store | None = None,
    meetings: MeetingProvider | None = None,
    clock: Clock | None = None,
) -> tuple[Services, TeamsTransport]:
    """Everything a command needs, wired from the settings (also used by the CLI)."""
    school = settings.school_config()
    store = store or open_store(settings)
    transport = TeamsTransport(settings, store)
    services = Services(
        settings=settings,
        school=school,
        profile=profile_for(school),
        store=store,
        meetings=meetings or meetings_for(settings, store),
        messenger=transport.messenger,
        clock=clock or SystemClock(),
    )
    services.directory = _directory(settings, services)
    return services, transport


def _directory(settings: Settings, services: Services) -> Directory | None:
    """Graph group membership when any role is given as an Entra group (not in local mode: lists only)."""
    if not any(group_id(role, services) for role in ROLE_NAMES) or settings.local_mode:
        return None
    from bot.meetings.graph_directory import GraphDirectory

    return GraphDirectory.from_environment(settings.graph_base_url, dict(settings.graph_env))


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    meetings: MeetingProvider | None = None,
    clock: Clock | None = None,
    router: Router | None = None,
    background: bool = True,
    shutdown_grace: float = 0.0,
) -> web.Application:
    """The app. ``shutdown_grace``: seconds a stop (SIGTERM from gunicorn / App Service) waits for
    background work in flight to finish before cancelling what is left (its outbox resumes it)."""
    services, transport = build_services(settings, store=store, meetings=meetings, clock=clock)
    router = router or build_router()

    app = web.Application(client_max_size=256 * 1024)
    app[SERVICES] = services
    app[ROUTER] = router
    app.router.add_post("/api/messages", transport.route(router, services))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ok",
                "profile": services.profile.id,
                "outbox": await services.outbox.backlog(services.store, services.clock.now()),
            }
        )

    app.router.add_get("/healthz", healthz)

    async def on_startup(app: web.Application) -> None:
        await transport.start()
        if background:
            await resume_all(services)

    async def on_cleanup(app: web.Application) -> None:
        if shutdown_grace > 0:  # requests have finished: let the work they owe finish too (daemon loops excepted)
            log.info("Chaperone stopping: finishing background work (up to %.0f s)", shutdown_grace)
            await services.tasks.drain(timeout=shutdown_grace)
        await services.tasks.close()
        await transport.close()
        for owner in (services.meetings, services.directory):
            close = getattr(owner, "close", None)
            if close is not None:
                await close()
        await services.store.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


async def freeze_heap(app: web.Application) -> None:
    """After start-up, move everything allocated so far (imports, SDKs, config) out of the
    collector's sight: a full collection then scans only what turns allocate (a full collection
    of the whole heap paused the loop ~80 ms in a burst of bookings)."""
    gc.collect()
    gc.freeze()


def run() -> None:
    settings = Settings.from_env()
    settings.check_transport()
    log.info(
        "Chaperone starting host=%s port=%s mode=%s meetings=%s config=%s",
        settings.listen_host,
        settings.port,
        "local" if settings.local_mode else "azure",
        settings.meetings,
        settings.config_path,
    )
    app = create_app(settings, shutdown_grace=15.0)
    app.on_startup.append(freeze_heap)
    web.run_app(app, host=settings.listen_host, port=settings.port, print=None, access_log=None)
