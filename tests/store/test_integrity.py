"""Damage to any one file of a populated data folder: the store yields every record or refuses,
naming that file; `chaperone store check` says the same; the folder is 0700 and its files 0600."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreCorrupt
from bot.store.tiny import TinyStore

ROOT = Path(__file__).resolve().parents[2]


async def populate(folder: Path) -> dict[str, dict[str, Any]]:
    """Every kind of file: hot and month partitions (snapshots and journals), keys.log, batch lines, appends."""
    s = TinyStore(folder)
    for i in range(40):
        rec = await s.insert("sessions", f"S-{i:03d}", {"open": True, "n": i, "day": "2026-11-25"})
        if i % 2:
            await s.replace(
                "sessions", f"S-{i:03d}", {"open": False, "n": i, "day": f"2026-{9 + i % 3:02d}-15"}, etag=rec.etag
            )
    for i in range(300):  # enough rewrites to fold the consents journal into a snapshot
        await s.upsert("consents", f"p{i % 20:02d}", {"n": i})
    await s.upsert_many("consents", {f"q{i:02d}": {"batch": 1, "i": i} for i in range(30)})
    await s.upsert("conversations", "user:aad-1", {"service_url": "http://connector.example.org"})
    await s.upsert("conversations", "channel:safeguarding", {"service_url": "http://connector.example.org"})
    for i in range(5):
        await s.append("audit", {"record": f"S-{i:03d}", "day": "2026-11-23"})
    expected = await read_all(s)
    await s.close()
    return expected


async def read_all(s: TinyStore) -> dict[str, dict[str, Any]]:
    return {t: {r.key: r.doc for r in await s.query(t)} for t in ("sessions", "consents", "conversations", "audit")}


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock")


async def test_the_populated_folder_has_every_kind_of_file(tmp_path: Path) -> None:
    await populate(tmp_path / "data")
    names = {str(p.relative_to(tmp_path / "data")) for p in data_files(tmp_path / "data")}
    for must in (
        "store.json",
        "sessions/manifest.json",
        "sessions/tails.json",
        "sessions/hot.log",
        "sessions/2026-10.log",
        "sessions/keys.log",
        "consents/hot.json",
        "consents/hot.log",
        "conversations/hot.log",
        "audit/append-2026-11.log",
    ):
        assert must in names, names


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "zero":
        path.write_bytes(b"")
    elif how == "half":
        path.write_bytes(data[: len(data) // 2])
    elif how == "last-line":  # cut at a line boundary: no torn line to give it away
        path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])
    elif how == "garbage":
        path.write_bytes(b"\x00garbage" * 8)
    elif how == "missing":
        path.unlink()


@pytest.mark.parametrize("how", ["zero", "half", "last-line", "garbage", "missing"])
async def test_damaging_any_one_file_yields_every_record_or_names_the_file(tmp_path: Path, how: str) -> None:
    pristine = tmp_path / "pristine"
    expected = await populate(pristine)
    outcomes: dict[str, str] = {}
    for f in data_files(pristine):
        rel = f.relative_to(pristine)
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(pristine, work)
        _damage(work / rel, how)
        s = TinyStore(work)
        try:
            got = await read_all(s)
        except StoreCorrupt as exc:
            assert str(work / rel) in str(exc) or (how == "missing" and str(rel.parent) in str(exc)), (
                f"{rel} ({how}): {exc}"
            )
            report = s.check_sync()
            assert report.problems and any(rel.name in str(p) for p in report.problems), (
                f"{rel} ({how}): check found {report.problems}"
            )
            outcomes[str(rel)] = "refused"
            continue
        finally:
            await s.close()
        assert got == expected, f"{rel} ({how}) opened with records missing or changed"
        outcomes[str(rel)] = "every record"
    # Only the advisory journal lengths hold no record: every other file's damage is refused.
    assert {r for r, o in outcomes.items() if o != "refused"} <= {f"{t}/tails.json" for t in expected}, outcomes


async def test_store_check_cli_reports_damage_and_health(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await populate(data)
    env = {**os.environ, "CHAPERONE_DATA_DIR": str(data), "CHAPERONE_STORE": "tinydb"}
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "store", "check"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "healthy" in ok.stdout and "sessions: 40 record(s)" in ok.stdout
    (data / "conversations" / "hot.log").write_bytes(b"")
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "store", "check"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert (
        bad.returncode == 1
        and "conversations/hot.log" in bad.stdout + bad.stderr
        and "backup" in bad.stdout + bad.stderr
    )
    serve = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        capture_output=True,
        text=True,
        env={**env, "PORT": "0"},
        cwd=ROOT,
        timeout=120,
    )
    assert serve.returncode == 1 and "conversations/hot.log" in serve.stderr and "does not start" in serve.stderr


async def test_folder_0700_and_files_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        await populate(tmp_path / "data")
    finally:
        os.umask(old)
    for p in [tmp_path / "data", *(tmp_path / "data").rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), f"{p} is {oct(mode)}"
