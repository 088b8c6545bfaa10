"""The outbox's store contract on both stores: a record made by an action key is made once (probing
past a reference another action holds), and a due job claimed by two workers at once runs once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from pydantic import Field

from bot.clock import FixedClock
from bot.jobs import Job, Kind, Owed, keyed_ref
from bot.outbox import Outbox
from bot.store.base import Store
from bot.store.records import Records

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)


class Note(Owed):
    ref: str
    text: str = ""
    sent: list[str] = Field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Notes(Records[Note]):
    table, prefix, noun = "notes", "N", "note"

    def _load(self, doc: dict[str, Any]) -> Note:
        return Note.model_validate(doc)


async def test_a_keyed_record_is_made_once_and_probes_past_a_taken_reference(store: Store) -> None:
    notes = Notes(store)
    taken = keyed_ref("N", "form:1", 0)
    await store.insert("notes", taken, Note(ref=taken, origin="another action").to_doc())
    made = await asyncio.gather(
        *(notes.add_once("form:1", lambda ref: Note(ref=ref, origin="form:1", text="hello")) for _ in range(4))
    )
    assert sum(created for _, created in made) == 1
    assert {n.ref for n, _ in made} == {keyed_ref("N", "form:1", 1)}
    assert len(await store.query("notes")) == 2


async def test_a_job_claimed_by_two_workers_at_once_runs_once(store: Store) -> None:
    runs: list[str] = []

    async def send(note: Any, job: Job, services: Any) -> Any:
        runs.append(job.id)
        await asyncio.sleep(0)

        def keep(n: Any) -> None:
            n.sent = [*n.sent, job.id]

        return keep

    kind = Kind(table="notes", repo=lambda services: Notes(services.store), handlers={"send": send})
    services = SimpleNamespace(store=store, clock=FixedClock(NOW))
    workers = [Outbox(instance=f"w{i}") for i in range(3)]
    for w in workers:
        w.register(kind)
    note = Note(ref="N-1")
    note.owe("send", due=NOW)
    note.owe("send", due=NOW + timedelta(hours=1), args={"later": True})
    await store.insert("notes", note.ref, note.to_doc())
    await asyncio.gather(*(w.run_due(services) for w in workers * 2))  # type: ignore[arg-type]
    assert runs == ["send-1"]
    stored, _ = await Notes(store).get("N-1")
    assert stored.sent == ["send-1"] and stored.pending  # the later job is still owed
    services.clock.at = NOW + timedelta(hours=2)
    await asyncio.gather(*(w.run_due(services) for w in workers))  # type: ignore[arg-type]
    stored, _ = await Notes(store).get("N-1")
    assert runs == ["send-1", "send-2"] and not stored.pending
