"""Background work in one place: what resumes after a restart, and the periodic sweep (escalations)."""

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


async def sweep(services: Services) -> None:
    """One pass: unacknowledged concern alerts and personal notices, then sessions still waiting for a second adult."""
    await concerns.sweep(services)
    await concerns.repeat_notices(services)
    await sessions.sweep(services)
    await retention.daily(services)  # once a day across instances (a claimed marker record)


async def run_forever(services: Services, *, every: float = 60.0) -> None:
    while True:
        try:
            await sweep(services)
        except Exception:  # noqa: BLE001 - the sweeper must keep running
            log.exception("escalation sweep failed")
        await asyncio.sleep(every)


async def resume_all(services: Services, *, every: float = 60.0) -> None:
    """At start-up: finish what was interrupted (meetings, concern alerts) and start the sweep."""
    await sessions.resume(services)
    await concerns.resume(services)
    services.tasks.spawn(run_forever(services, every=every), name="sweep", daemon=True)
