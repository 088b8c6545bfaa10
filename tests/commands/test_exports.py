"""`chaperone register export`, `concern export` and `audit list` over a store the bot wrote."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import stat
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.forms import CONCERN, END
from tests.support.harness import Harness, scheduled


@pytest.fixture
async def filled(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    s = await scheduled(harness)
    await harness.act("tara", "end.submit", {"ref": s.ref, **END})
    await harness.act("tara", "concern.submit", {**CONCERN, "what": '=HYPERLINK("x")'})
    await harness.services.tasks.drain()
    monkeypatch.setenv("CHAPERONE_DATA_DIR", str(tmp_path / "data"))
    return harness


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_register_export_opens_in_excel(filled: Harness, tmp_path: Path) -> None:
    out = tmp_path / "register.csv"
    assert (
        await cli(
            "register", "export", "--format", "csv", "--from", "2026-11-01", "--to", "2026-11-30", "--output", str(out)
        )
        == 0
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    [row] = rows
    assert row["date"] == "2026-11-25" and row["start"] == "10:00" and row["state"] == "ended"
    assert row["organiser"] == "Tara Teacher" and row["second_adult"] == "Sam Senior"
    assert (
        row["pupils"] == "Pip Example; Quinn Example" and row["consent"] == "Pip Example: signed; Quinn Example: signed"
    )
    assert row["policy_profile"] == "000-two-staff" and "allowMeetingChat=disabled" in row["meeting_settings"]
    assert (
        row["outcome"] == "completed"
        and row["pupils_present"] == "Pip Example"
        and row["second_adult_throughout"] == "yes"
    )
    out2 = tmp_path / "none.csv"
    assert await cli("register", "export", "--from", "2026-12-01", "--output", str(out2)) == 0
    assert len(out2.read_text(encoding="utf-8-sig").splitlines()) == 1


async def test_bad_dates_are_bad_input(filled: Harness) -> None:
    assert await cli("register", "export", "--from", "01/11/2026") == 2


async def test_concern_export_is_owner_only_and_audited(
    filled: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "concerns.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    assert await cli("concern", "export", "--format", "csv", "--output", str(out)) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    [row] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert row["pupil"] == "Pip Example" and row["childs_own_words"] == "I don't want to go home tonight"
    assert row["what_was_seen_or_heard"].startswith("'=")  # no formula injection in Excel
    capsys.readouterr()
    assert await cli("audit", "list") == 0
    out_text = capsys.readouterr().out
    assert "concern.raised" in out_text and "concern.exported" in out_text and "session.ended" in out_text
    assert "Pip" not in out_text and "go home" not in out_text
    assert await cli("audit", "list", "--record", "*") == 0


async def test_meetings_cli_verify_and_cancel(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = await scheduled(harness)
    monkeypatch.setenv("CHAPERONE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "CHAPERONE_CONFIG", str(Path(__file__).resolve().parents[2] / "bot" / "example" / "chaperone.toml")
    )
    assert await cli("meetings", "verify") == 2
    assert await cli("meetings", "verify", s.ref) == 0
    assert "settings as the protocol requires" in capsys.readouterr().out
    assert await cli("meetings", "cancel", s.ref) == 0
    assert await cli("meetings", "cancel", s.ref) == 2
    assert "already cancelled" in capsys.readouterr().err
    assert await cli("meetings", "attendance", s.ref) == 1


@pytest.mark.parametrize("what", ["register", "concern"])
async def test_exports_are_owner_only_refuse_symlinks_and_are_audited(
    filled: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    out = tmp_path / f"{what}.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    assert await cli(what, "export", "--output", str(out)) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and "Pip Example" in out.read_text(encoding="utf-8-sig")
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    link = tmp_path / f"{what}-link.csv"
    link.symlink_to(target)
    assert await cli(what, "export", "--output", str(link)) == 2
    assert target.read_text() == "untouched" and "symbolic link" in capsys.readouterr().err
    capsys.readouterr()
    assert await cli("audit", "list") == 0
    assert (
        sum(f"{what}.exported" in line for line in capsys.readouterr().out.splitlines()) == 1
    )  # the refused one wrote nothing and is not an export
