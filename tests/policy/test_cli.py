"""`chaperone policy ...`: exit codes, JSON shape, line-numbered problems, and the matrix is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.policy.describe import matrix
from tests.policy.helpers import base

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, booking: dict) -> str:
    p = tmp_path / "booking.json"
    p.write_text(json.dumps(booking), encoding="utf-8")
    return str(p)


def test_list_names_all_five(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "list"]) == 0
    out = capsys.readouterr().out
    for pid in ("000-two-staff", "001-recorded", "002-lobby-two-staff", "003-crossways", "004-tces"):
        assert pid in out


def test_show_prints_rules_with_sentences_and_checklists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", "004-tces"]) == 0
    out = capsys.readouterr().out
    assert "004.recording-approval" in out and "approved by the SLT" in out
    assert "Checklist, before the session:" in out and "Checklist, after the session:" in out


def test_show_lists_the_concern_routing_with_its_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", "002-lobby-two-staff"]) == 0
    out = capsys.readouterr().out
    assert (
        "A concern about a child or family: the headteacher; the safeguarding channel is alerted   (002.concern-child)"
        in out
    )
    assert "A concern about the headteacher: the chair of governors; never the safeguarding channel" in out
    assert "inform the headteacher immediately and record it on CPOMS." in out


def test_show_unknown_profile_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", "999-nope"]) == 2
    assert "000-two-staff" in capsys.readouterr().err


def test_try_allowed_prints_the_decision_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "policy",
            "try",
            "--profile",
            "002-lobby-two-staff",
            "--now",
            "2026-11-23T08:00:00+00:00",
            _write(tmp_path, base()),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"allowed", "violations", "requirements", "meeting"}
    assert out["allowed"] is True and out["violations"] == []
    assert {"kind": "second_adult", "detail": out["requirements"][0]["detail"]} in out["requirements"]
    assert out["meeting"]["allowRecording"] is False


def test_try_refused_exits_1_with_rule_and_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    booking = base()
    booking["chat"] = True
    code = main(
        ["policy", "try", "--profile", "000-two-staff", "--now", "2026-11-23T08:00:00+00:00", _write(tmp_path, booking)]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["violations"] == [
        {
            "rule": "000.chat-off",
            "message": "Meeting chat must be off under your school's protocol. Turn meeting chat off.",
            "source": {
                "file": "000_915df2ef5569bdfd.txt",
                "text": "Make sure the chat function is turned off for the session.",
                "title": "Code of conduct for school staff delivering 1:1 or small group zoom sessions",
            },
        }
    ]


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ("{not json", "booking"),
        (json.dumps({**base(), "start": "2026-11-25T10:00:00"}), "start"),
        (json.dumps({**base(), "type": "one_to_one"}), "exactly one pupil"),
        (json.dumps({**base(), "colour": "blue"}), "colour"),
    ],
)
def test_try_bad_booking_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expect: str
) -> None:
    p = tmp_path / "b.json"
    p.write_text(content, encoding="utf-8")
    assert main(["policy", "try", "--profile", "000-two-staff", str(p)]) == 2
    assert expect in capsys.readouterr().err


def test_try_bad_now_and_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "try", "--profile", "000-two-staff", "--now", "yesterday", _write(tmp_path, base())]) == 2
    assert main(["policy", "try", "--profile", "000-two-staff", str(tmp_path / "missing.json")]) == 2
    assert "Cannot read" in capsys.readouterr().err


BROKEN = """\
id = "school-own"
name = "Our own"
source = "ours.txt"
colour = "green"

[[rules]]
id = "a.hours"
kind = "hours"
days = ["mon", "funday"]
start = "09:00:00"
end = "15:00:00"
sentence = "Sessions in school hours."

[[rules]]
id = "a.hours"
kind = "teleport"
sentence = "Beam me up."

[[rules]]
id = "a.rec"
kind = "recording"
mode = "sometimes"
sentence = "Record it sometimes."
"""


def test_check_rejects_a_broken_profile_with_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "ours.toml"
    p.write_text(BROKEN, encoding="utf-8")
    assert main(["policy", "check", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}: line 4: colour: unknown key" in err
    assert "line 9: rules.0.days.1" in err
    assert "line 16: rules.1: unknown rule kind" in err
    assert "line 22: rules.2.mode" in err


def test_check_reports_duplicate_ids_and_bad_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "dupe.toml"
    p.write_text(
        BROKEN.replace('colour = "green"\n', "")
        .replace('"funday"', '"tue"')
        .replace('kind = "teleport"', 'kind = "copy_slt"')
        .replace('"sometimes"', '"forbidden"'),
        encoding="utf-8",
    )
    assert main(["policy", "check", str(p)]) == 2
    assert "duplicate rule id(s): a.hours" in capsys.readouterr().err
    p.write_text('id = "x"\nname = [\n', encoding="utf-8")
    assert main(["policy", "check", str(p)]) == 2
    assert f"{p}: line 2: not valid TOML" in capsys.readouterr().err


@pytest.mark.parametrize("pid", ["000-two-staff", "001-recorded", "002-lobby-two-staff", "003-crossways", "004-tces"])
def test_check_accepts_each_bundled_profile(pid: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(ROOT / "bot" / "policy" / "profiles" / f"{pid}.toml")]) == 0


def test_compliance_matrix_is_current() -> None:
    assert (ROOT / "docs" / "policies.md").read_text(encoding="utf-8") == matrix(), (
        "run: chaperone policy matrix --write"
    )
