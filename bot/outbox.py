"""The outbox worker: runs the jobs records owe (bot/jobs.py), once each, with leases, retry and backoff.

A job is claimed by an ETag-checked replace of its record that sets ``lease_owner`` (this
instance) and ``lease_until``; only the instance whose replace succeeded runs it, so any number of
instances on one Azure table send each post, reminder, give-up and re-raise once. The handler's
results (e.g. the posted card's activity id) are written in the same replace that marks the job
done. A failure puts the job back with a capped exponential backoff; after a few failures the
people concerned are told (the record's ``stuck`` hook). Handlers are idempotent: a post checks
the record first, an update always shows the record's current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.errors import Conflict, NotFound
from bot.jobs import Job, Kind

if TYPE_CHECKING:
    from bot.services import Services
    from bot.store.base import Record, Store

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
REPORT_AFTER = 3
DONE_ATTEMPTS = 50
BACKOFF_CAP = 600.0
#: Store calls the outbox makes at once (per process): in a rush of user actions the turns get the
#: store first and the jobs they owe queue here. Held only around store calls, never across a
#: job's handler (Graph, the Bot Connector), so a slow Graph blocks no other job. Measured with
#: bench/production.py (200 booking submits at once), p99 over the echo bot's: 1 slot 0.40-0.42x
#: (TinyStore: one writer thread, extra calls only queue) and 0.99-1.21x on Azurite; 2 slots
#: 0.57-0.70x and 1.08x; unbounded 0.66-0.90x and 1.28-1.31x. One slot costs the jobs' own
#: latency: with a ~10 ms store round trip it drains ~25 bookings' jobs a second per instance.
#: Only background runs (kicked after a reply, or a pass of the worker) queue here; a turn that runs
#: a record's jobs itself (a concern's alerts) is a turn, and never waits behind the backlog.
STORE_SLOTS = 1
_BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("outbox_background", default=False)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... at most 10 minutes."""
    return timedelta(seconds=min(5.0 * 2 ** max(attempts - 1, 0), BACKOFF_CAP))


class Outbox:
    def __init__(self, instance: str | None = None) -> None:
        self.instance = instance or uuid.uuid4().hex[:12]
        self.kinds: dict[str, Kind] = {}
        self._wake: asyncio.Event | None = None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @contextlib.asynccontextmanager
    async def store_slot(self) -> AsyncIterator[None]:
        """Around one store call of a background run: the outbox's share of the store in this event
        loop (see STORE_SLOTS). A run from a turn goes straight through."""
        if not _BACKGROUND.get():
            yield
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(STORE_SLOTS))
        async with self._slots[1]:
            yield

    async def _kicked(self, services: Services, table: str, ref: str) -> int:
        _BACKGROUND.set(True)  # this task's own context: the turn that spawned it is not affected
        return await self.run_record(services, table, ref)

    def register(self, kind: Kind) -> None:
        self.kinds[kind.table] = kind

    # --- running --------------------------------------------------------------------
    def kick(self, services: Services, table: str, ref: str) -> None:
        """Run what this record owes now, in a tracked background task (the reply is not held up)."""
        services.tasks.spawn(self._kicked(services, table, ref), name=f"outbox-{ref}")

    async def run_record(self, services: Services, table: str, ref: str, *, now: datetime | None = None) -> int:
        """Run every due job of one record; returns how many ran."""
        kind = self.kinds[table]
        ran = 0
        tried: set[str] = set()
        known: Record | None = None  # the record as this run last wrote it: no read before the next batch
        for _ in range(64):
            when = now or services.clock.now()
            outcome, known = await self._run_batch(services, kind, ref, tried, when, known)
            if outcome is None:
                continue  # the record changed under the claim: read it again and retry
            if outcome == 0:
                return ran
            ran += outcome
        return ran

    async def run_due(self, services: Services, *, now: datetime | None = None) -> int:
        """One pass over every record with owed work; returns how many jobs ran."""
        token = _BACKGROUND.set(True)
        try:
            return await self._run_due(services, now=now)
        finally:
            _BACKGROUND.reset(token)

    async def _run_due(self, services: Services, *, now: datetime | None = None) -> int:
        ran = 0
        when = now or services.clock.now()
        for kind in self.kinds.values():
            for rec in await services.store.query(kind.table, {"pending": True}):
                # most pending records only hold timers for later: one query, no read per record
                if any(Job.model_validate(raw).claimable(when) for raw in rec.doc.get("jobs") or []):
                    ran += await self.run_record(services, kind.table, rec.key, now=now)
        return ran

    async def forever(self, services: Services, *, every: float = 5.0) -> None:
        """The worker loop: a pass every ``every`` seconds (timers and retries); the first pass at
        start-up is resume_all's own, which callers can wait for."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.run_due(services)
            except Exception:
                log.exception("outbox pass failed")

    async def _run_batch(
        self, services: Services, kind: Kind, ref: str, tried: set[str], now: datetime, known: Record | None = None
    ) -> tuple[int | None, Record | None]:
        """Claim every due job of one record in ONE ETag-checked write (whoever loses the race runs
        none of them), then run them soonest first, each marked done (with its results) in a write
        of its own right after it ran. Returns how many ran (0 when none is ours, None when the
        claim lost a write race) and the record as this batch last wrote it, if it did. ``known``,
        the record as this run last wrote it, stands for a read: any other writer since then
        changed its etag, so the claim is refused and read again; a writer that owes new jobs
        kicks its own run."""
        repo = kind.repo(services)
        if known is not None:
            record, etag = repo.loaded(known)
        else:
            try:
                async with self.store_slot():
                    record, etag = await repo.get(ref)
            except NotFound:
                return 0, None
        due = sorted((j for j in record.jobs if j.claimable(now) and j.id not in tried), key=lambda j: j.due_at)
        # a job that may take long (meeting creation) runs in a claim of its own, so the leases of
        # the quick ones never run out while they wait behind it
        quick = [j for j in due if j.kind not in kind.leases]
        due = quick or due[:1]
        if not due:
            return 0, None
        for job in due:
            job.lease_owner, job.lease_until = self.instance, now + kind.leases.get(job.kind, LEASE)
            job.attempts += 1
        try:
            async with self.store_slot():
                written: Record | None = await services.store.replace(
                    kind.table, record.ref, record.to_doc(), etag=etag
                )
        except Conflict:
            return None, None
        except NotFound:
            return 0, None
        for job in due:
            tried.add(job.id)
            written = await self._run(services, kind, record, job, written)
        return len(due), written

    async def _run(self, services: Services, kind: Kind, record: Any, job: Job, known: Record | None) -> Record | None:
        """Run one claimed job; "done" and its results are written at once (a lost "done" would run
        it again). Returns the record as written with "done" (None after a failure)."""
        handler = kind.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind}")
            apply = await handler(record, job, services)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(services, kind, record.ref, job.id, exc)
            return None

        def done(r: Any) -> None:
            if apply is not None:
                apply(r)
            r.finish(job.id, at=services.clock.now())

        async with self.store_slot():
            _, written = await kind.repo(services).change(record.ref, done, attempts=DONE_ATTEMPTS, known=known)
        log.info("job done ref=%s job=%s attempts=%d", record.ref, job.id, job.attempts)
        return written

    async def _failed(self, services: Services, kind: Kind, ref: str, job_id: str, exc: Exception) -> None:
        now = services.clock.now()
        error = type(exc).__name__
        log.warning("job failed ref=%s job=%s error=%s", ref, job_id, error, exc_info=exc)

        def fail(r: Any) -> None:
            j = r.job(job_id)
            if j is None:
                return
            j.lease_owner, j.lease_until = None, None
            j.last_error = error
            j.first_failed_at = j.first_failed_at or now
            j.due_at = now + backoff(j.attempts)
            if j.attempts >= REPORT_AFTER and not j.reported and kind.stuck is not None:
                j.reported = True
                kind.stuck(r, j, services, now)
            r.pending = True

        async with self.store_slot():
            await kind.repo(services).update(ref, fail, attempts=DONE_ATTEMPTS)

    # --- start-up and visibility ------------------------------------------------------
    async def resume(self, services: Services, *, release_leases: bool) -> None:
        """At start-up: failed jobs are due at once, and (one host) leases of a dead process are freed."""
        now = services.clock.now()
        for kind in self.kinds.values():
            for rec in await services.store.query(kind.table, {"pending": True}):

                def wake(r: Any) -> None:
                    for j in r.undone():
                        if release_leases:
                            j.lease_owner, j.lease_until = None, None
                        if j.attempts > 0 and j.lease_owner is None:
                            j.due_at = min(j.due_at, now)

                await kind.repo(services).update(rec.key, wake)

    async def backlog(self, store: Store, now: datetime) -> dict[str, Any]:
        """Owed jobs, how many are due or failing, and the oldest failing one (for /healthz and the CLI)."""
        rows = await self.rows(store)
        failing = [r for r in rows if r["last_error"]]
        oldest = min(failing, key=lambda r: r["first_failed_at"] or "") if failing else None
        return {
            "jobs": len(rows),
            "due": sum(1 for r in rows if datetime.fromisoformat(r["due_at"]) <= now),
            "failing": len(failing),
            "oldest_failing": oldest,
        }

    async def rows(self, store: Store) -> list[dict[str, Any]]:
        """Every job not yet done, soonest due first."""
        out: list[dict[str, Any]] = []
        for kind in self.kinds.values():
            for rec in await store.query(kind.table, {"pending": True}):
                for raw in rec.doc.get("jobs") or []:
                    j = Job.model_validate(raw)
                    if j.done_at is None:
                        out.append(
                            {
                                "record": rec.key,
                                "job": j.id,
                                "kind": j.kind,
                                "due_at": j.due_at.isoformat(),
                                "attempts": j.attempts,
                                "last_error": j.last_error,
                                "first_failed_at": j.first_failed_at.isoformat() if j.first_failed_at else None,
                                "lease_owner": j.lease_owner,
                            }
                        )
        return sorted(out, key=lambda r: (r["due_at"], r["record"]))


def default_outbox() -> Outbox:
    """The outbox with every workflow's jobs registered."""
    from bot.concerns import workflow as concerns
    from bot.sessions import workflow as sessions

    box = Outbox()
    box.register(sessions.JOB_KIND)
    box.register(concerns.JOB_KIND)
    return box
