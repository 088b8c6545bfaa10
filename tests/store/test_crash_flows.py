"""The bot's write paths survive SIGKILL at a durable write: bench/crash_flows.py kills the real
bot process (strace fault injection on fsync) during a booking, an accept, an /end and a
/concern, restarts it and repeats the user's retry; exactly one record, one meeting, one register
and request card showing the current state, and one alert. CI runs every third kill point of each
flow (scripts/bootstrap installs strace); the bench runs every one (see its note for the counts)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_write_path_survives_a_kill_and_a_retry() -> None:
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed: run scripts/bootstrap (apt-get install -y strace)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crash_flows.py"), "--every", "3", "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "0 problems" in result.stdout
    for flow in ("book", "accept", "end", "concern"):
        assert f"{flow}: " in result.stdout
