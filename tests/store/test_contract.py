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
        *(store.replace("sessions", "S-3", {"covered_by": who}, etag=rec.etag) for who in ("sam", "hana", "dee", "ivy")),
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


async def test_query_where_and_days_across_hot_and_history(store: Store) -> None:
    await store.insert("sessions", "S-a", {"open": True, "state": "scheduled", "day": "2026-11-25"})
    await store.insert("sessions", "S-b", {"open": False, "state": "ended", "day": "2026-10-02"})
    await store.insert("sessions", "S-c", {"open": False, "state": "ended", "day": "2026-09-30"})
    rec = await store.insert("sessions", "S-d", {"open": True, "state": "scheduled", "day": "2026-10-05"})
    await store.replace("sessions", "S-d", {"open": False, "state": "ended", "day": "2026-10-05"}, etag=rec.etag)  # closes: moves to history
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
