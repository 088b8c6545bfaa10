"""Background work in one place: at start-up the outbox resumes what a crash or a restart
interrupted, and its worker loop runs due jobs (posts, updates, messages, timers) from then on; a
slower loop runs the daily retention job."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.concerns import retention
from bot.concerns import workflow as concerns
from bot.sessions import workflow as sessions

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


async def sweep(services: Services) -> int:
    """One pass of the outbox: every due job of every record (timers, retries, repeated notices); returns how many ran."""
    return await services.outbox.run_due(services)


async def housekeeping(services: Services) -> None:
    """Retention, once a day across instances."""
    await retention.daily(services)


async def housekeeping_forever(services: Services, *, every: float = 60.0) -> None:
    while True:
        try:
            await housekeeping(services)
        except Exception:
            log.exception("housekeeping pass failed")
        await asyncio.sleep(every)


async def resume_all(services: Services, *, every: float = 5.0) -> None:
    """At start-up: failed jobs become due at once (one host: leases of the dead process are
    freed), what is due runs now, and the worker loop starts."""
    shared = services.settings.store == "tables"
    adopted = await sessions.adopt(services) + await concerns.adopt(services)
    if adopted:
        log.info("records from before the outbox given their owed jobs count=%d", adopted)
    await services.outbox.resume(services, release_leases=not shared)
    services.tasks.spawn(services.outbox.run_due(services), name="outbox-resume")
    services.tasks.spawn(services.outbox.forever(services, every=every), name="outbox", daemon=True)
    services.tasks.spawn(housekeeping_forever(services), name="housekeeping", daemon=True)
