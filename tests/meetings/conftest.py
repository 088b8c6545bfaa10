"""A running FakeGraph and a GraphMeetings pointed at it through the real msgraph-sdk."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from bot.meetings.graph import GraphMeetings
from tests.fakes.graph_server import FakeGraph


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(users={"aad-tara"})
    fake.base_url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()
    assert fake.schema_failures == [], fake.schema_failures


@pytest.fixture
async def meetings(graph: FakeGraph) -> AsyncIterator[GraphMeetings]:
    # Short waits keep fault tests quick; Retry-After from the fake (1 s) is still honoured.
    provider = GraphMeetings.at(graph.base_url, timeout=1.0, retry_delay=0.2, max_retries=2)  # type: ignore[attr-defined]
    yield provider
    await provider.close()
