"""Router-level tests use the shared ``harness`` fixture (tests/support/fixtures.py).

The names below are re-exported for older imports; new code imports them from tests/support.
"""

from __future__ import annotations

from tests.support.forms import CSV, FORM
from tests.support.harness import Harness, school_with
from tests.support.messenger import RecordingMessenger
from tests.support.people import NOW, PEOPLE, actor

__all__ = ["CSV", "FORM", "NOW", "PEOPLE", "Harness", "RecordingMessenger", "actor", "school_with"]
