"""HTTP-level tests use the shared ``bot`` and ``connector`` fixtures (tests/support/fixtures.py).

    async def test_x(bot, connector):
        status, body = await bot.post(activities.message("/help", service_url=connector.url))
        card = connector.cards()[-1]

The names below are re-exported for older imports; new code imports them from tests/support.
"""

from __future__ import annotations

from tests.support.bot import CONFIG, Bot
from tests.support.people import NOW

__all__ = ["CONFIG", "NOW", "Bot"]
