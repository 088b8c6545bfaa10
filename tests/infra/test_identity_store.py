"""The Azure Table store with a token credential and no key, against Azurite over HTTPS (fixtures in
conftest.py): every operation Chaperone uses, and Azurite refusing a bad token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import Conflict, StoreError
from bot.store.tables import AzureTableStore
from tests.support.managed_identity import TokenCredential

_counter = iter(range(10**6))


@pytest.fixture
async def credential() -> TokenCredential:
    return TokenCredential()


@pytest.fixture
async def store(azurite_oauth: tuple[str, Path], credential: TokenCredential) -> AsyncIterator[AzureTableStore]:
    endpoint, ca = azurite_oauth
    s = AzureTableStore.with_identity(endpoint, credential, prefix=f"mi{next(_counter)}x", connection_verify=str(ca))
    yield s
    await s.close()


async def test_the_store_works_with_a_token_and_no_key(store: AzureTableStore, credential: TokenCredential) -> None:
    first = await store.insert("sessions", "s/1", {"day": "2026-11-24", "state": "requested"})
    assert (await store.get("sessions", "s/1")) == first
    second = await store.replace("sessions", "s/1", {"day": "2026-11-24", "state": "scheduled"}, etag=first.etag)
    with pytest.raises(Conflict):
        await store.replace("sessions", "s/1", {"day": "2026-11-24", "state": "cancelled"}, etag=first.etag)
    assert [
        r.doc["state"] for r in await store.query("sessions", {"state": "scheduled"}, days=("2026-11-01", "2026-11-30"))
    ] == ["scheduled"]
    await store.delete("sessions", "s/1")
    assert await store.get("sessions", "s/1") is None and second.etag != first.etag
    assert credential.scopes and all(scopes == ("https://storage.azure.com/.default",) for scopes in credential.scopes)


@pytest.mark.parametrize(
    "bad",
    [TokenCredential(lifetime=-600), TokenCredential(audience="https://graph.microsoft.com")],
    ids=["expired", "wrong-audience"],
)
async def test_a_token_azurite_refuses_is_a_store_error(azurite_oauth: tuple[str, Path], bad: TokenCredential) -> None:
    """Azurite really checks the token (so the test above passed because of it, not without it)."""
    endpoint, ca = azurite_oauth
    s = AzureTableStore.with_identity(endpoint, bad, prefix=f"mi{next(_counter)}x", connection_verify=str(ca))
    try:
        with pytest.raises(StoreError):
            await s.insert("sessions", "s/1", {"state": "requested"})
    finally:
        await s.close()


async def test_tokens_are_never_sent_in_clear() -> None:
    with pytest.raises(StoreError):
        AzureTableStore.with_identity("http://127.0.0.1:10002/devstoreaccount1", TokenCredential())
