"""Store fixtures: the contract suite runs on TinyStore in a temporary folder and on AzureTableStore
against Azurite (the shared ``azurite`` fixture, tests/support/azurite.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.base import Store
from bot.store.tables import AzureTableStore
from bot.store.tiny import TinyStore

_counter = iter(range(10**6))


@pytest.fixture(params=["tinydb", "tables"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "tinydb":
        s: Store = TinyStore(tmp_path / "data")
    else:
        s = AzureTableStore(request.getfixturevalue("azurite"), prefix=f"t{next(_counter)}x")
    yield s
    await s.close()
