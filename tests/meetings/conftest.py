"""Fixtures: a running FakeGraph, a GraphMeetings pointed at it through the real msgraph-sdk, and
``gh``, a booking harness whose meetings go through that Graph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.meetings.graph import GraphMeetings
from tests.fakes.graph_server import FakeGraph
from tests.support.harness import Harness
from tests.support.meetings import harness_for


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


@pytest.fixture
async def gh(tmp_path: Path, meetings: GraphMeetings) -> AsyncIterator[Harness]:
    harness = await harness_for(tmp_path / "data", meetings)
    yield harness
    await harness.services.tasks.close()
    await harness.services.store.close()
