"""`chaperone consent import | list`: every bad row reported with its line; nothing imported on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

GOOD = (
    "pupil,parent_name,parent_email,pupil_school_email,consent,date\n"
    "Pip Example,Pat Example,parent.pip@example.com,pip@pupils.example.org,signed,2026-09-01\n"
    "Quinn Example,Quill Example,parent.quinn@example.com,,implied,2026-09-02\n"
)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAPERONE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def write(tmp_path: Path, text: str, name: str = "consent.csv") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_import_then_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["consent", "import", write(tmp_path, "\ufeff" + GOOD)]) == 0
    assert "imported 2" in capsys.readouterr().out
    assert main(["consent", "list"]) == 0
    out = capsys.readouterr().out
    assert "Pip Example" in out and "implied" in out and "2 pupil(s)" in out


def test_every_bad_row_is_reported_and_nothing_is_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = GOOD + (
        "Robin Example,Rae Example,not-an-email,,signed,2026-09-03\n"
        "Sky Example,Sam Example,sam@example.com,,maybe,2026-09-04\n"
        "Pip Example,Pat Example,parent.pip@example.com,,signed,2026-09-05\n"
        "Tay Example,Tam Example,tam@example.com,,signed,31/12/2026\n"
    )
    assert main(["consent", "import", write(tmp_path, bad)]) == 2
    err = capsys.readouterr().err
    assert "line 4: parent_email" in err
    assert "line 5: consent must be 'signed' or 'implied'" in err
    assert "line 6: Pip Example is already on line 2" in err
    assert "line 7: date" in err
    assert "nothing was imported" in err
    assert main(["consent", "list"]) == 0
    assert "0 pupil(s)" in capsys.readouterr().out


def test_wrong_header_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["consent", "import", write(tmp_path, "name,email\nPip,pip@example.com\n")]) == 2
    err = capsys.readouterr().err
    assert "line 1: missing column(s): pupil, parent_name, parent_email, consent, date" in err


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["consent", "import", str(tmp_path / "nope.csv")]) == 2
    assert "Cannot read" in capsys.readouterr().err
