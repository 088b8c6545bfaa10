"""Managed identity end to end, as App Service runs it: the real ManagedIdentityCredential fetches
tokens from a loopback App Service identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER, as the
platform sets them) for the client id the template sets, and the Table store (Azurite over HTTPS)
and Graph (the loopback Graph) accept them. No key, no secret, no connection string anywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from bot.config import Settings
from bot.errors import ConfigError
from bot.meetings.graph import GraphMeetings, graph_credential
from bot.meetings.provider import Invitee, MeetingRequest
from bot.store import open_store
from bot.store.tables import AzureTableStore, identity_credential
from tests.fakes.graph_server import FakeGraph
from tests.infra.arm import CLIENT_ID, example
from tests.support.managed_identity import IdentityEndpoint


def _claims(token: str) -> dict[str, Any]:
    import base64
    import json

    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


async def test_the_table_store_uses_the_identity_the_template_names(
    azurite_oauth: tuple[str, Path], identity_endpoint: IdentityEndpoint
) -> None:
    endpoint, ca = azurite_oauth
    settings = example().app_settings()
    store = AzureTableStore.with_identity(
        endpoint, client_id=settings["AZURE_CLIENT_ID"], prefix="mie2e", connection_verify=str(ca)
    )
    try:
        written = await store.insert("audit", "a1", {"what": "consent.import", "who": "aad-ivy"})
        assert await store.get("audit", "a1") == written
    finally:
        await store.close()
    assert identity_endpoint.asked and {q["client_id"] for q in identity_endpoint.asked} == {CLIENT_ID}
    assert {q["resource"] for q in identity_endpoint.asked} == {"https://storage.azure.com"}


class RecordingGraph(FakeGraph):
    """The loopback Graph, also recording each request's bearer token."""

    tokens: list[str]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.tokens.append(request.headers.get("Authorization", ""))
        return await super()._handle(request)


async def test_graph_uses_the_same_identity(identity_endpoint: IdentityEndpoint) -> None:
    graph = RecordingGraph(users={"aad-tara"})
    graph.tokens = []
    base_url = await graph.start()
    meetings = GraphMeetings.from_environment(base_url, env=example().app_settings())
    start = datetime(2026, 11, 25, 10, tzinfo=UTC)
    request = MeetingRequest(
        booking_id="b-1",
        subject="Oakfield Primary: reading group",
        start=start,
        end=start + timedelta(minutes=30),
        timezone="Europe/London",
        organiser_id="aad-tara",
        organiser_email="tara.teacher@example.org",
        attendees=(Invitee("Pat Example", "parent.pip@example.com"),),
        second_adult=None,
        cc=(),
        notes=(),
        settings={"allowMeetingChat": "disabled"},
    )
    try:
        meeting = await meetings.create(request)
    finally:
        await meetings.close()
        await graph.stop()
    assert meeting.join_url and graph.schema_failures == []
    assert graph.tokens and all(t.startswith("Bearer ") for t in graph.tokens)
    assert {_claims(t.removeprefix("Bearer "))["aud"] for t in graph.tokens} == {"https://graph.microsoft.com"}
    assert {q["client_id"] for q in identity_endpoint.asked} == {CLIENT_ID}


async def test_credential_choices() -> None:
    made = [
        identity_credential(CLIENT_ID),
        identity_credential(""),
        graph_credential({"CHAPERONE_GRAPH_CREDENTIAL": "managed-identity", "AZURE_CLIENT_ID": CLIENT_ID}),
    ]
    try:
        assert [type(c) for c in made] == [ManagedIdentityCredential, DefaultAzureCredential, ManagedIdentityCredential]
    finally:
        for c in made:
            await c.close()
    with pytest.raises(ConfigError, match="AZURE_CLIENT_ID"):
        graph_credential({"CHAPERONE_GRAPH_CREDENTIAL": "managed-identity"})
    with pytest.raises(ConfigError, match="managed-identity, certificate or secret"):
        graph_credential({"CHAPERONE_GRAPH_CREDENTIAL": "password"})
    with pytest.raises(ConfigError):
        graph_credential(
            {
                "CHAPERONE_GRAPH_CREDENTIAL": "certificate",
                "CHAPERONE_GRAPH_TENANT_ID": "t",
                "CHAPERONE_GRAPH_CLIENT_ID": "c",
            }
        )
    with pytest.raises(ConfigError, match="not a readable file"):
        graph_credential(
            {
                "CHAPERONE_GRAPH_CREDENTIAL": "certificate",
                "CHAPERONE_GRAPH_TENANT_ID": "t",
                "CHAPERONE_GRAPH_CLIENT_ID": "c",
                "CHAPERONE_GRAPH_CERTIFICATE_PATH": "/nonexistent/graph.pem",
            }
        )


async def test_open_store_picks_the_identity_when_an_endpoint_is_set() -> None:
    settings = Settings.from_env(example().app_settings())
    store = open_store(settings)
    try:
        assert isinstance(store, AzureTableStore) and isinstance(store._credential, ManagedIdentityCredential)
    finally:
        await store.close()
    with pytest.raises(ConfigError, match="CHAPERONE_TABLES_ENDPOINT"):
        Settings.from_env({"CHAPERONE_STORE": "tables"})
