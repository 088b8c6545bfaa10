"""The crash test in CI: a writer killed with SIGKILL at random moments loses no acknowledged write
and never leaves an unreadable store (bench/crash_store.py; the note gives a long run's figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_acknowledged_write_is_lost_across_sigkills() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "crash_store.py"), "--rounds", "15", "--seed", "7"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 rounds with a lost write" in result.stdout
