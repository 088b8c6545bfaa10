"""HTTP-level fixtures over tests/support/bot.py (names re-exported for older imports).

    async def test_x(bot, connector):
        status, body = await bot.post(activities.message("/help", service_url=connector.url))
        card = connector.cards()[-1]
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from tests.support.bot import CONFIG, Bot, start_bot
from tests.support.people import NOW
from tests.support.serve import serve
from tests.teams.connector import FakeConnector

__all__ = ["CONFIG", "NOW", "Bot"]


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    runner, url = await serve(fake.app())
    fake.url = url
    yield fake
    await runner.cleanup()


@pytest.fixture
def profile_id() -> str:
    return "000-two-staff"


@pytest.fixture
def app_id() -> str:
    return ""


@pytest.fixture
async def bot(tmp_path: Path, profile_id: str, app_id: str) -> AsyncIterator[Bot]:
    async with start_bot(tmp_path, profile_id=profile_id, app_id=app_id) as b:
        yield b
