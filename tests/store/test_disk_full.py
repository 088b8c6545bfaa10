"""Disk full and read-only: a failed write is a StoreError saying nothing was stored, it is never
applied later (not in memory, not at the next start), new users still get an answer, and the
read-only CLI commands work on a read-only data folder."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreError
from bot.store import journal as journal_mod
from bot.store.tiny import TinyStore
from tests.support.bot import Bot
from tests.support.forms import FORM
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

ROOT = Path(__file__).resolve().parents[2]
REAL_WRITE_ALL, REAL_SYNC = journal_mod.write_all, journal_mod.sync


class DiskFull:
    """Injected into the journal's write path: a part of the line lands, then ENOSPC (or the fsync fails)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self.fsync_fails = False
        monkeypatch.setattr(journal_mod, "write_all", self.write_all)
        monkeypatch.setattr(journal_mod, "sync", self.sync)

    def write_all(self, fd: int, data: bytes) -> None:
        if self.full:
            REAL_WRITE_ALL(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        REAL_WRITE_ALL(fd, data)

    def sync(self, fd: int) -> None:
        if self.fsync_fails:
            raise OSError(errno.EIO if not self.full else errno.ENOSPC, "fsync failed")
        REAL_SYNC(fd)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> DiskFull:
    return DiskFull(monkeypatch)


@pytest.mark.parametrize("failure", ["short write then ENOSPC", "whole line but fsync fails"])
async def test_a_failed_write_is_refused_and_never_applied(tmp_path: Path, disk: DiskFull, failure: str) -> None:
    s = TinyStore(tmp_path)
    first = await s.insert("sessions", "S-1", {"open": True, "v": 1})
    if failure.startswith("short"):
        disk.full = True
    else:
        disk.fsync_fails = True
    with pytest.raises(StoreError, match="Nothing was stored") as err:
        await s.insert("sessions", "S-2", {"open": True})
    assert "disk is full" in str(err.value) or "EIO" in str(err.value)
    with pytest.raises(StoreError, match="Nothing was stored"):
        await s.replace("sessions", "S-1", {"open": True, "v": 2}, etag=first.etag)
    with pytest.raises(StoreError, match="Nothing was stored"):
        await s.upsert_many("consents", {f"p{i}": {"i": i} for i in range(50)})
    assert await s.get("sessions", "S-2") is None  # not in memory
    assert (await s.get("sessions", "S-1")).doc["v"] == 1  # type: ignore[union-attr]
    disk.full = disk.fsync_fails = False  # space comes back
    await s.insert("sessions", "S-3", {"open": True})
    await s.close()
    again = TinyStore(tmp_path)  # the next start: the failed writes are not replayed, the store is healthy
    assert [r.key for r in await again.query("sessions")] == ["S-1", "S-3"]
    assert (await again.get("sessions", "S-1")).doc["v"] == 1  # type: ignore[union-attr]
    assert await again.query("consents") == []
    assert not again.check_sync().problems
    await again.close()


async def test_a_new_user_gets_an_answer_and_a_failed_booking_says_nothing_was_stored(
    bot: Bot, connector: FakeConnector, disk: DiskFull
) -> None:
    disk.full = True  # before the user's first turn: the conversation reference cannot be written
    status, _ = await bot.post(act.message("/book", service_url=connector.url))
    assert status in (200, 201)
    form = connector.posts("a:personal-29:tara")[-1]
    assert "Book a session" in card_text(form.card)
    await bot.post(act.submit({"verb": "book.submit", **FORM}, reply_to=form.activity_id, service_url=connector.url))
    answers = [card_text(s.card) for s in connector.sent if s.card is not None][1:]
    assert answers and "Nothing was stored" in answers[-1] and "disk is full" in answers[-1], answers
    assert not any("waiting for a second adult" in a for a in answers)  # no acknowledgement of a failed write
    assert await bot.services.sessions.open_sessions() == []
    disk.full = False
    assert await bot.services.sessions.open_sessions() == []  # and it does not appear later


def _chaperone(args: list[str], data: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    """A real `chaperone` process on ``data``."""
    env = {**os.environ, "CHAPERONE_DATA_DIR": str(data), "CHAPERONE_STORE": "tinydb", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=180, **kw
    )


def _csv(path: Path, n: int, day: str) -> Path:
    rows = ["pupil,parent_name,parent_email,pupil_school_email,consent,date"]
    rows += [f"Pupil Number{i},Parent Number{i},parent{i}@example.org,,signed,{day}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def _consent_days(data: Path) -> dict[str, int]:
    """Each date's row count in the registry; and the store must check healthy."""
    s = TinyStore(data)
    try:
        days: dict[str, int] = {}
        for r in await s.query("consents"):
            days[r.doc["date"]] = days.get(r.doc["date"], 0) + 1
        assert not (await s.check()).problems
        return days
    finally:
        await s.close()


async def _import_in_process(data: Path, n: int, day: str) -> None:
    s = TinyStore(data)
    await s.upsert_many(
        "consents",
        {
            f"pupil number{i}": {
                "pupil": f"Pupil Number{i}",
                "parent_name": f"Parent Number{i}",
                "parent_email": f"parent{i}@example.org",
                "pupil_school_email": None,
                "consent": "signed",
                "date": day,
            }
            for i in range(n)
        },
    )
    await s.close()


async def test_real_import_under_injected_enospc_is_all_or_none_and_never_replayed(tmp_path: Path) -> None:
    """strace makes the Nth fsync (then the Nth write) of a real `chaperone consent import` fail with ENOSPC."""
    strace = shutil.which("strace")
    assert strace, "strace is needed: scripts/bootstrap installs it"
    data = tmp_path / "data"
    await _import_in_process(data, 500, "2026-09-01")
    second = _csv(tmp_path / "b.csv", 500, "2026-10-01")
    refused = 0
    for syscall, n in (("fsync", 1), ("fsync", 2), ("write", 1), ("write", 2)):
        run = subprocess.run(
            [
                strace,
                "-f",
                "-o",
                os.devnull,
                "-e",
                f"trace={syscall}",
                "-e",
                f"inject={syscall}:error=ENOSPC:when={n}",
                sys.executable,
                "-m",
                "bot",
                "consent",
                "import",
                str(second),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=180,
            env={
                **os.environ,
                "CHAPERONE_DATA_DIR": str(data),
                "CHAPERONE_STORE": "tinydb",
                "PYTHONDONTWRITEBYTECODE": "1",
            },
        )
        days = await _consent_days(data)
        assert days in ({"2026-09-01": 500}, {"2026-10-01": 500}), (
            syscall,
            n,
            days,
        )  # all of one import, none of the other
        if days == {"2026-09-01": 500}:  # the failed import stored nothing and said so
            refused += 1
            assert run.returncode != 0
            if syscall == "fsync":  # (strace counts per thread: a write injection also fails the main thread's stderr)
                assert (
                    "disk is full" in run.stderr
                    and "Nothing was stored" in run.stderr
                    and "Traceback" not in run.stderr
                ), run.stderr
        else:  # stored (a failure after it, e.g. printing the result, changes nothing): back to the first file
            await _import_in_process(data, 500, "2026-09-01")
    assert refused >= 2, "the injection never hit the journal"


@pytest.fixture
async def read_only_copy(tmp_path: Path) -> AsyncIterator[tuple[Path, list[str], Path]]:
    """A populated data folder with no write bits; as root the CLI runs without the capabilities that
    override file modes (setpriv), so the folder is as read-only to it as to any other user."""
    data = tmp_path / "data"
    assert _chaperone(["consent", "import", str(_csv(tmp_path / "a.csv", 20, "2026-09-01"))], data).returncode == 0
    s = TinyStore(data)  # and an audit trail (sessions are covered by the export's own tests)
    for i in range(3):
        await s.append(
            "audit",
            {
                "at": f"2026-11-23T09:0{i}:00+00:00",
                "who": "cli:test",
                "action": "concern.exported",
                "record": "*",
                "detail": "",
                "day": "2026-11-23",
            },
        )
    await s.close()
    for p in [data, *data.rglob("*")]:
        os.chmod(p, 0o500 if p.is_dir() else 0o400)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file-mode override"
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    yield data, prefix, _csv(tmp_path / "more.csv", 5, "2026-10-01")
    for p in [data, *data.rglob("*")]:
        os.chmod(p, 0o700)


def test_read_only_cli_commands_work_on_a_read_only_folder(read_only_copy: tuple[Path, list[str], Path]) -> None:
    data, prefix, csv = read_only_copy
    before = sorted((str(p), p.stat().st_mtime_ns) for p in data.rglob("*"))
    env = {**os.environ, "CHAPERONE_DATA_DIR": str(data), "CHAPERONE_STORE": "tinydb", "PYTHONDONTWRITEBYTECODE": "1"}

    commands = [
        ["consent", "import", str(csv)],
        ["consent", "list"],
        ["register", "export", "--format", "csv"],
        ["audit", "list"],
        ["store", "check"],
        ["policy", "list"],
    ]
    driver = (
        "import sys\nfrom bot.cli import main\n"
        f"for args in {commands!r}:\n    print('=== rc', main(args), *args, flush=True)\n    print('=== end', file=sys.stderr, flush=True)\n"
    )
    run = subprocess.run(
        [*prefix, sys.executable, "-c", driver], capture_output=True, text=True, env=env, cwd=ROOT, timeout=180
    )
    assert "Traceback" not in run.stderr, run.stderr
    codes = [line.split()[2] for line in run.stdout.splitlines() if line.startswith("=== rc")]
    errors = run.stderr.split("=== end")
    assert codes[0] != "0" and "read-only" in errors[0] and "Nothing was stored" in errors[0], errors[0]
    # an export is audited before it is written, so on a read-only folder it refuses and exports nothing
    assert codes[1:] == ["0", "2", "0", "0", "0"], run.stdout + run.stderr
    assert "Nothing was exported" in errors[2], errors[2]
    assert "20 pupil(s)" in run.stdout and "3 entries" in run.stdout
    assert sorted((str(p), p.stat().st_mtime_ns) for p in data.rglob("*")) == before
