"""Run the outbox in tests: finish the tracked background work, then every due job, until nothing is left (no sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


async def settle(services: Any, *, at: datetime | None = None) -> int:
    """Drain background tasks and run every job due at ``at`` (default: the services' clock) until
    a pass runs nothing; returns how many jobs ran."""
    total = 0
    for _ in range(50):
        await services.tasks.drain()
        ran = await services.outbox.run_due(services, now=at)
        await services.tasks.drain()
        total += ran
        if not ran:
            return total
    raise AssertionError("the outbox kept finding work after 50 passes")


async def later(services: Any, delta: timedelta) -> int:
    """Move the test's fixed clock on by ``delta`` and run what is due then (timers, retries after a backoff)."""
    services.clock.at = services.clock.now() + delta
    return await settle(services)
