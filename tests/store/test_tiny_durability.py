"""TinyStore on disk: damage is reported and never overwritten, torn writes are ignored, another
process's writes are seen, and history lives outside the hot files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import StoreCorrupt
from bot.store.tiny import TinyStore


async def test_reopen_sees_every_acknowledged_write(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    rec = await s.insert("sessions", "S-1", {"open": True, "v": 1})
    await s.replace("sessions", "S-1", {"open": False, "day": "2026-11-25", "v": 2}, etag=rec.etag)
    await s.insert("sessions", "S-2", {"open": True, "v": 3})
    await s.append("audit", {"record": "S-1", "day": "2026-11-25"})
    await s.close()
    again = TinyStore(tmp_path)
    assert (await again.get("sessions", "S-1")).doc == {"open": False, "day": "2026-11-25", "v": 2}  # type: ignore[union-attr]
    assert [r.key for r in await again.query("sessions", {"open": True})] == ["S-2"]
    assert len(await again.query("audit")) == 1
    await again.close()
    assert (tmp_path / "sessions" / "2026-11.log").exists()


async def test_a_damaged_snapshot_stops_the_store_and_is_not_overwritten(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    for i in range(300):  # enough rewrites to fold the journal into a snapshot
        await s.upsert("consents", f"p{i % 10}", {"n": i})
    await s.close()
    snapshot = tmp_path / "consents" / "hot.json"
    assert snapshot.exists()
    damaged = snapshot.read_bytes()[:-40]
    snapshot.write_bytes(damaged)
    broken = TinyStore(tmp_path)
    with pytest.raises(StoreCorrupt, match=r"hot\.json"):
        await broken.get("consents", "p1")
    with pytest.raises(StoreCorrupt):
        await broken.upsert("consents", "p1", {"n": 1})
    assert snapshot.read_bytes() == damaged
    await broken.close()


async def test_damage_inside_the_journal_is_reported(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    await s.insert("sessions", "S-1", {"open": True})
    await s.insert("sessions", "S-2", {"open": True})
    await s.close()
    log = tmp_path / "sessions" / "hot.log"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[0] + lines[1].replace("S-1", "S-X") + lines[2])  # after the header: checksum no longer matches
    with pytest.raises(StoreCorrupt, match="line 2"):
        await TinyStore(tmp_path).get("sessions", "S-2")


async def test_a_torn_last_write_is_ignored_and_cut_before_the_next(tmp_path: Path) -> None:
    s = TinyStore(tmp_path)
    await s.insert("sessions", "S-1", {"open": True})
    await s.close()
    log = tmp_path / "sessions" / "hot.log"
    log.write_bytes(log.read_bytes() + b'0000abcd {"op":"put","key":"S-2","doc":{"ope')  # a crash mid-append
    s = TinyStore(tmp_path)
    assert await s.get("sessions", "S-2") is None
    await s.insert("sessions", "S-3", {"open": True})
    await s.close()
    s = TinyStore(tmp_path)
    assert [r.key for r in await s.query("sessions")] == ["S-1", "S-3"]
    await s.close()


async def test_two_stores_on_one_folder_see_each_others_writes(tmp_path: Path) -> None:
    bot, cli = TinyStore(tmp_path), TinyStore(tmp_path)
    await bot.get("consents", "pip")  # the bot has the table loaded
    await cli.upsert("consents", "pip", {"consent": "signed"})  # chaperone consent import, another process
    assert (await bot.get("consents", "pip")).doc == {"consent": "signed"}  # type: ignore[union-attr]
    rec = await bot.get("consents", "pip")
    await cli.upsert("consents", "pip", {"consent": "implied"})
    from bot.errors import Conflict

    with pytest.raises(Conflict):
        await bot.replace("consents", "pip", {"consent": "none"}, etag=rec.etag)  # type: ignore[union-attr]
    await bot.close()
    await cli.close()


async def test_files_are_tinydb_databases(tmp_path: Path) -> None:
    from tinydb import TinyDB

    from bot.store.journal import AtomicJSONStorage

    s = TinyStore(tmp_path)
    s.bulk_load("sessions", {f"S-{i}": {"open": False, "day": "2026-01-15", "i": i} for i in range(10)})
    await s.close()
    db = TinyDB(tmp_path / "sessions" / "2026-01.json", storage=AtomicJSONStorage)
    assert len(db.all()) == 10 and json.loads((tmp_path / "sessions" / "2026-01.json").read_text())["_default"]


async def test_a_folder_from_before_manifests_is_read_and_upgraded_by_the_first_write(tmp_path: Path) -> None:
    from bot.store.journal import line_of

    sessions, audit = tmp_path / "sessions", tmp_path / "audit"
    sessions.mkdir(parents=True)
    audit.mkdir()
    raw = lambda key, **doc: {**doc, "_key": key, "_etag": f"e-{key}"}  # noqa: E731
    (sessions / "hot.json").write_text(json.dumps({"_default": {"1": raw("S-1", open=True)}}))
    (sessions / "hot.log").write_bytes(line_of({"op": "put", "key": "S-2", "doc": raw("S-2", open=True)}))
    (sessions / "2026-10.log").write_bytes(
        line_of({"op": "put", "key": "S-3", "doc": raw("S-3", open=False, day="2026-10-01")})
    )
    (sessions / "keys.log").write_bytes(line_of({"key": "S-3", "part": "2026-10"}))
    (audit / "append-2026-11.log").write_bytes(
        line_of({"op": "put", "key": "k1", "doc": raw("k1", record="S-1", day="2026-11-23")})
    )
    s = TinyStore(tmp_path)
    assert [r.key for r in await s.query("sessions")] == ["S-1", "S-2", "S-3"] and len(await s.query("audit")) == 1
    assert not (tmp_path / "store.json").exists()  # reading wrote nothing
    await s.insert("sessions", "S-4", {"open": True})
    await s.append("audit", {"record": "S-4", "day": "2026-11-23"})
    await s.close()
    assert json.loads((tmp_path / "store.json").read_text())["tables"] == ["audit", "sessions"]
    assert "keys.log" in json.loads((sessions / "manifest.json").read_text())["files"]
    s = TinyStore(tmp_path)
    assert [r.key for r in await s.query("sessions")] == ["S-1", "S-2", "S-3", "S-4"] and len(
        await s.query("audit")
    ) == 2
    assert not s.check_sync().problems
    await s.close()
    (sessions / "2026-10.log").unlink()  # now that the manifest lists it, a missing file is damage
    with pytest.raises(StoreCorrupt, match="2026-10"):
        await TinyStore(tmp_path).query("sessions")
