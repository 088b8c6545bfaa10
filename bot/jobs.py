"""Owed side effects kept on the record they belong to: a job list, applied idempotency keys, a due flag.

A record (Session, Concern) that carries an :class:`Owed` part writes its state change, the
idempotency key of the user action that made it, and every side effect it now owes (channel
posts, card updates, messages, timers) in ONE store write: one journal line in TinyStore, one
entity in Azure Tables. ``pending`` is a top-level flag the worker (bot/outbox.py) queries to
find records with work; a record keeps it while any job is undone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from bot.services import Services
    from bot.store.records import Records

#: Recent idempotency keys kept per record (the creating key is kept apart, in ``origin``).
APPLIED_KEPT = 32
#: Finished jobs kept per record for `chaperone outbox list` (results live in the record's fields).
DONE_KEPT = 8
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class Job(BaseModel):
    """One side effect a record owes. ``lease_*`` is the claim of the instance running it now."""

    model_config = ConfigDict(extra="forbid")
    id: str
    kind: str
    args: dict[str, Any] = Field(default_factory=dict)
    due_at: datetime
    attempts: int = 0
    last_error: str | None = None
    first_failed_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    done_at: datetime | None = None
    #: True once the people concerned were told this job keeps failing.
    reported: bool = False

    def claimable(self, now: datetime) -> bool:
        return self.done_at is None and self.due_at <= now and (self.lease_until is None or self.lease_until <= now)


class Owed(BaseModel):
    """The part of a record that makes its side effects durable and its user actions idempotent."""

    jobs: list[Job] = Field(default_factory=list)
    applied: list[str] = Field(default_factory=list)
    origin: str | None = None  # the idempotency key of the action that created the record
    pending: bool = False
    job_seq: int = 0

    def owe(self, kind: str, *, due: datetime, args: dict[str, Any] | None = None) -> Job:
        """Add a job, unless the same job is already waiting to run (an update that has not started
        yet will show the latest state anyway)."""
        args = args or {}
        for job in self.jobs:
            if (
                job.kind == kind
                and job.args == args
                and job.done_at is None
                and job.lease_owner is None
                and job.attempts == 0
            ):
                if due < job.due_at:
                    job.due_at = due
                return job
        self.job_seq += 1
        job = Job(id=f"{kind}-{self.job_seq}", kind=kind, args=args, due_at=due)
        self.jobs.append(job)
        self.pending = True
        return job

    def has_applied(self, key: str | None) -> bool:
        return bool(key) and (key == self.origin or key in self.applied)

    def apply_key(self, key: str | None) -> None:
        if key and key not in self.applied:
            self.applied = [*self.applied, key][-APPLIED_KEPT:]

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def finish(self, job_id: str, *, at: datetime) -> None:
        job = self.job(job_id)
        if job is not None:
            job.done_at, job.lease_owner, job.lease_until, job.last_error = at, None, None, None
        self.tidy()

    def tidy(self) -> None:
        done = [j for j in self.jobs if j.done_at is not None]
        keep = {j.id for j in done[-DONE_KEPT:]}
        self.jobs = [j for j in self.jobs if j.done_at is None or j.id in keep]
        self.pending = any(j.done_at is None for j in self.jobs)

    def undone(self) -> list[Job]:
        return [j for j in self.jobs if j.done_at is None]


async def adopt(repo: Records[Any], records: Iterable[Any], owe: Callable[[Any], None]) -> int:
    """Records stored before the outbox existed (none has ever owed a job) are given what they owe,
    once: ``owe`` adds the jobs to each, in its own write. Returns how many were adopted."""
    adopted = 0
    for record in records:
        if record.job_seq:
            continue

        def first(x: Any) -> None:
            if not x.job_seq:  # another instance adopted it meanwhile
                owe(x)
                x.job_seq = max(x.job_seq, 1)

        await repo.update(record.ref, first)
        adopted += 1
    return adopted


def keyed_ref(prefix: str, key: str, probe: int) -> str:
    """The reference a record made by the action ``key`` gets (``probe`` > 0 after a collision)."""
    digest = hashlib.sha256(f"{key}\x00{probe}".encode()).digest()
    value = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(6):
        value, i = divmod(value, len(_ALPHABET))
        chars.append(_ALPHABET[i])
    return f"{prefix}-" + "".join(chars)


#: What a handler returns: None, or a change to write with "done" (results such as a card's id).
Apply = Callable[[Any], None]
Handler = Callable[[Any, Job, "Services"], Awaitable[Apply | None]]
#: Called inside the failure write when a job has failed a few times (it owes notices then).
Stuck = Callable[[Any, Job, "Services", datetime], None]


@dataclass(frozen=True)
class Kind:
    """The jobs of one table: how to reach its records and how to run each job kind."""

    table: str
    repo: Callable[[Services], Records[Any]]
    handlers: dict[str, Handler]
    stuck: Stuck | None = None
    #: Leases longer than the default for job kinds that may wait a long time (meeting creation).
    leases: dict[str, timedelta] = field(default_factory=dict)
