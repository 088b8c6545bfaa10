"""Background work the bot answers before finishing (meeting creation, card updates): tracked, logged, awaited at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Tasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._daemons: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str, daemon: bool = False) -> asyncio.Task[Any]:
        """Start tracked work. A ``daemon`` (a loop that runs for the life of the app) is cancelled
        at close but never waited for by :meth:`drain`."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        (self._daemons if daemon else self._tasks).add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._daemons.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every task running now (and any they start) to finish; daemons excepted."""
        while self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
            if timeout is not None:
                break

    async def close(self) -> None:
        running = self._tasks | self._daemons
        for t in running:
            t.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
