"""The production entry point: gunicorn with aiohttp's worker builds the app from the environment.

    gunicorn bot.wsgi:app --worker-class aiohttp.GunicornWebWorker --workers 1 \\
        --bind 0.0.0.0:${PORT:-8000} --timeout 120 --graceful-timeout 30

This is exactly the startup command of infra/azuredeploy.json (tests/infra checks it). One worker:
aiohttp serves many turns concurrently in one process, and the background loops (escalation,
resumed outbox work) must run once per instance. On SIGTERM the worker stops taking requests,
lets those in flight finish, then gives background work SHUTDOWN_GRACE seconds before stopping.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import create_app
from bot.config import Settings

#: Seconds background work may take after a stop; within gunicorn's --graceful-timeout (30).
SHUTDOWN_GRACE = 15.0

log = logging.getLogger("bot.wsgi")


async def app() -> web.Application:
    """The aiohttp app, built like `chaperone serve` does (bot.app.run), for gunicorn's worker."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    log.info(
        "Chaperone starting under gunicorn mode=%s meetings=%s store=%s config=%s",
        "local" if settings.local_mode else "azure",
        settings.meetings,
        settings.store,
        settings.config_source,
    )
    return create_app(settings, shutdown_grace=SHUTDOWN_GRACE)
