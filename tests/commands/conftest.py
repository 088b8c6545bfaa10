"""Router-level fixtures over tests/support/harness.py (names re-exported for older imports)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from tests.support.forms import CSV, FORM
from tests.support.harness import Harness, school_with, start_harness
from tests.support.messenger import RecordingMessenger
from tests.support.people import NOW, PEOPLE, actor

__all__ = ["CSV", "FORM", "NOW", "PEOPLE", "Harness", "RecordingMessenger", "actor", "school_with"]


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


@pytest.fixture
async def harness(tmp_path: Path, profile_id: str) -> AsyncIterator[Harness]:
    async with start_harness(tmp_path / "data", profile_id) as h:
        yield h
