"""One contract, both implementations: TinyStore (embedded) and AzureTableStore (on Azurite)."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import Conflict, NotFound
from bot.store.base import Store


async def test_insert_get_and_duplicate(store: Store) -> None:
    rec = await store.insert("sessions", "S-1", {"state": "open", "n": 1, "open": True})
    assert rec.key == "S-1" and rec.doc == {"state": "open", "n": 1, "open": True} and rec.etag
    got = await store.get("sessions", "S-1")
    assert got is not None and got.doc == rec.doc and got.etag == rec.etag
    assert await store.get("sessions", "S-404") is None
    with pytest.raises(Conflict):
        await store.insert("sessions", "S-1", {"state": "again"})


async def test_replace_needs_the_current_etag(store: Store) -> None:
    first = await store.insert("sessions", "S-2", {"v": 1})
    second = await store.replace("sessions", "S-2", {"v": 2}, etag=first.etag)
    assert second.etag != first.etag
    with pytest.raises(Conflict):
        await store.replace("sessions", "S-2", {"v": 3}, etag=first.etag)
    assert (await store.get("sessions", "S-2")).doc == {"v": 2}  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await store.replace("sessions", "S-missing", {"v": 1}, etag=first.etag)


async def test_concurrent_replaces_with_one_etag_have_one_winner(store: Store) -> None:
    rec = await store.insert("sessions", "S-3", {"covered_by": None})
    results = await asyncio.gather(
        *(
            store.replace("sessions", "S-3", {"covered_by": who}, etag=rec.etag)
            for who in ("sam", "hana", "dee", "ivy")
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1 and all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert (await store.get("sessions", "S-3")).doc == winners[0].doc  # type: ignore[union-attr]


async def test_upsert_delete_and_keys_with_teams_characters(store: Store) -> None:
    key = "conv:19:abc@thread.tacv2;messageid=17/x#y?z"
    await store.upsert("conversations", key, {"service_url": "http://a"})
    await store.upsert("conversations", key, {"service_url": "http://b"})
    assert (await store.get("conversations", key)).doc == {"service_url": "http://b"}  # type: ignore[union-attr]
    assert [r.key for r in await store.query("conversations")] == [key]
    await store.delete("conversations", key)
    await store.delete("conversations", key)
    assert await store.get("conversations", key) is None


async def test_where_matches_numbers_of_every_size_and_quoted_text(store: Store) -> None:
    """Azure Tables types a filter's literal: 32-bit, 64-bit, float and text with a quote all match."""
    await store.insert("people", "p1", {"small": 7, "big": 2**40, "ratio": 0.5, "name": "O'Neill", "on": True})
    await store.insert("people", "p2", {"small": 8, "big": -(2**40), "ratio": 1.5, "name": "Oneill", "on": False})
    for where in ({"small": 7}, {"big": 2**40}, {"ratio": 0.5}, {"name": "O'Neill"}, {"on": True}):
        assert [r.key for r in await store.query("people", where)] == ["p1"], where
    assert [r.key for r in await store.query("people", {"big": -(2**40)})] == ["p2"]


async def test_query_where_and_days_across_hot_and_history(store: Store) -> None:
    await store.insert("sessions", "S-a", {"open": True, "state": "scheduled", "day": "2026-11-25"})
    await store.insert("sessions", "S-b", {"open": False, "state": "ended", "day": "2026-10-02"})
    await store.insert("sessions", "S-c", {"open": False, "state": "ended", "day": "2026-09-30"})
    rec = await store.insert("sessions", "S-d", {"open": True, "state": "scheduled", "day": "2026-10-05"})
    await store.replace(
        "sessions", "S-d", {"open": False, "state": "ended", "day": "2026-10-05"}, etag=rec.etag
    )  # closes: moves to history
    assert [r.key for r in await store.query("sessions", {"open": True})] == ["S-a"]
    assert [r.key for r in await store.query("sessions", {"state": "ended"})] == ["S-b", "S-c", "S-d"]
    assert [r.key for r in await store.query("sessions", days=("2026-10-01", "2026-10-31"))] == ["S-b", "S-d"]
    assert [r.key for r in await store.query("sessions")] == ["S-a", "S-b", "S-c", "S-d"]
    got = await store.get("sessions", "S-d")
    assert got is not None and got.doc["state"] == "ended"
    again = await store.replace("sessions", "S-d", {**got.doc, "note": "attendance merged"}, etag=got.etag)
    assert (await store.get("sessions", "S-d")).etag == again.etag  # type: ignore[union-attr]


async def test_append_only_log(store: Store) -> None:
    k1 = await store.append("audit", {"record": "C-1", "action": "raised", "day": "2026-11-23"})
    k2 = await store.append("audit", {"record": "C-1", "action": "viewed", "day": "2026-11-23"})
    await store.append("audit", {"record": "S-9", "action": "ended", "day": "2026-10-01"})
    assert k1 < k2
    assert [r.doc["action"] for r in await store.query("audit", {"record": "C-1"})] == ["raised", "viewed"]
    assert len(await store.query("audit")) == 3


async def test_upsert_many_writes_every_row_and_keeps_the_others(store: Store) -> None:
    await store.upsert("consents", "old pupil", {"consent": "signed", "n": 0})
    await store.upsert("consents", "pupil 0001", {"consent": "none", "n": 0})
    rows = {
        f"pupil {i:04d}": {"consent": "signed", "n": 1, "note": "é" * (i % 7)} for i in range(250)
    }  # more than one 100-operation transaction
    assert await store.upsert_many("consents", rows) == 250
    found = {r.key: r.doc for r in await store.query("consents")}
    assert found == {**rows, "old pupil": {"consent": "signed", "n": 0}}
    assert (await store.get("consents", "pupil 0001")).doc == rows["pupil 0001"]  # type: ignore[union-attr]
    assert [r.key for r in await store.query("consents", {"n": 0})] == ["old pupil"]
    await store.upsert_many(
        "consents", {"pupil 0002": {"consent": "none", "n": 2}}
    )  # again: a third generation, the first is cleaned up
    await store.upsert("consents", "pupil 0003", {"consent": "implied", "n": 3})
    await store.delete("consents", "old pupil")
    found = {r.key: r.doc for r in await store.query("consents")}
    assert (
        len(found) == 250
        and found["pupil 0002"]["n"] == 2
        and found["pupil 0003"]["n"] == 3
        and "old pupil" not in found
    )


async def test_a_document_up_to_the_limit_round_trips_and_a_larger_one_is_refused(store: Store) -> None:
    from bot.errors import StoreError
    from bot.store.base import MAX_DOC_CHARS

    narrative = "Ünïcode 🙂 and a long account. " * 2200  # ~70,000 characters: more than one 64 KiB property
    rec = await store.insert("concerns", "C-BIG", {"open": True, "what": narrative})
    assert (await store.get("concerns", "C-BIG")).doc["what"] == narrative  # type: ignore[union-attr]
    await store.replace(
        "concerns", "C-BIG", {"open": True, "what": narrative[:100]}, etag=rec.etag
    )  # shrinking drops the extra parts
    assert (await store.get("concerns", "C-BIG")).doc["what"] == narrative[:100]  # type: ignore[union-attr]
    with pytest.raises(StoreError, match="too large"):
        await store.insert("concerns", "C-HUGE", {"what": "x" * MAX_DOC_CHARS})
    assert await store.get("concerns", "C-HUGE") is None


async def test_pending_records_stay_hot_and_are_found_by_the_pending_query(store: Store) -> None:
    await store.insert(
        "sessions", "S-p", {"open": False, "day": "2026-10-02", "pending": True, "jobs": [{"kind": "card.update"}]}
    )
    await store.insert("sessions", "S-q", {"open": False, "day": "2026-10-03", "pending": False})
    assert [r.key for r in await store.query("sessions", {"pending": True})] == ["S-p"]
    assert [r.key for r in await store.query("sessions", days=("2026-10-01", "2026-10-31"))] == ["S-p", "S-q"]


async def test_an_azure_import_that_fails_midway_leaves_the_old_generation_whole(azurite: str) -> None:
    """A loopback proxy in front of Azurite passes the first entity-group transaction of the new
    generation and then drops every connection that carries another (with the client's retries)."""
    from bot.errors import StoreError
    from bot.store.tables import AzureTableStore
    from tests.support.table_proxy import TableProxy

    proxy = TableProxy(azurite)
    endpoint = await proxy.start()
    store = AzureTableStore(endpoint, prefix="midway")
    store._http.pauses = (0.0, 0.0, 0.0)  # the retries, without waiting
    try:
        await store.upsert_many("consents", {f"pupil {i:04d}": {"n": 1} for i in range(150)})
        proxy.batches, proxy.drop_batches_after = 0, 1  # the connection drops after the first 100 rows
        with pytest.raises(StoreError, match="Nothing was stored"):
            await store.upsert_many("consents", {f"pupil {i:04d}": {"n": 2} for i in range(150)})
        # the second transaction and its three retries; then clearing the orphan rows, also dropped (left for later)
        assert proxy.batches == 1 + 4 + 4 and proxy.dropped == 8
        proxy.drop_batches_after = None
        assert {r.doc["n"] for r in await store.query("consents")} == {1} and len(await store.query("consents")) == 150
    finally:
        await store.close()
        await proxy.stop()
