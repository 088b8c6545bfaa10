"""Credential failures are told like Graph failures: a wrong client secret, an expired certificate
or an unreachable Entra each end, within a minute, in a card saying the meeting could not be created
and that IT have been told, and an SLT notice naming the setting to check. Nothing reaches Graph.
Also: the provider closes every HTTP session it opened, and the meetings default follows the README."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity.aio import ClientSecretCredential

from bot.chat import SLT_CHANNEL
from bot.config import Settings
from bot.meetings.graph import GraphMeetings
from bot.meetings.provider import open_meeting
from bot.sessions.model import State
from tests.fakes.entra import FakeEntra
from tests.fakes.graph_server import FakeGraph
from tests.support.harness import Harness
from tests.support.meetings import book_and_accept, harness_for, request, watcher
from tests.support.schemas import card_text

GRAPH_ENV = {
    "CHAPERONE_GRAPH_TENANT_ID": "tenant-1",
    "CHAPERONE_GRAPH_CLIENT_ID": "client-1",
    "CHAPERONE_GRAPH_CLIENT_SECRET": "not-the-secret",
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


@pytest.fixture
async def entra(tmp_path: Path) -> AsyncIterator[FakeEntra]:
    fake = FakeEntra()
    fake.authority = await fake.start(tmp_path / "ca")  # type: ignore[attr-defined]
    yield fake
    await fake.stop()


async def told_failure(h: Harness, graph: FakeGraph, setting: str, *, drain: bool = True) -> None:
    """Book; within a minute SLT are told what IT must check and the teacher that IT have been told;
    then cancel (the retry loop stops) and nothing ever reached Graph."""
    ref = await book_and_accept(h)
    m = watcher(h)
    notice = await m.wait_post(SLT_CHANNEL, setting, timeout=60)
    status = await m.wait_update("form-1", "IT have been told", timeout=60)
    assert ref in card_text(notice) and "What IT must do" in card_text(notice)
    assert "could not be created" in card_text(status) and "no family has been invited" in card_text(status)
    s, _ = await h.services.sessions.get(ref)
    assert s.state is State.CONFIRMED and s.problem is not None and s.problem.code == "failed"
    await h.act("tara", "session.cancel", {"ref": ref, "confirmed": "yes"})
    if drain:
        await h.services.tasks.drain()  # the retry loop sees the cancel and stops
    assert graph.calls == []
    actions = [e.action for e in await h.services.audit.entries(ref)]
    assert "meeting.failed" in actions and "meeting.told" in actions


@pytest.mark.parametrize(
    "answer, setting",
    [("invalid_client", "CHAPERONE_GRAPH_CLIENT_SECRET"), ("expired_certificate", "CHAPERONE_GRAPH_CERTIFICATE_PATH")],
)
async def test_a_rejected_credential_is_told(
    tmp_path: Path, graph: FakeGraph, entra: FakeEntra, answer: str, setting: str
) -> None:
    entra.answer = answer
    credential = ClientSecretCredential(
        "tenant-1", "client-1", "not-the-secret", authority=entra.authority, connection_verify=str(entra.ca_path)
    )  # type: ignore[attr-defined]
    meetings = GraphMeetings.with_credential(graph.base_url, credential)  # type: ignore[attr-defined]
    h = await harness_for(tmp_path / "data", meetings)
    try:
        await told_failure(h, graph, setting)
        assert entra.requests and all(r == "POST /tenant-1/oauth2/v2.0/token" for r in entra.requests)
    finally:
        await h.services.tasks.close()
        await meetings.close()
        await h.services.store.close()


async def test_an_unreachable_entra_is_told(tmp_path: Path, graph: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"https://127.0.0.1:{closed_port()}")  # read by azure-identity itself
    meetings = GraphMeetings.from_environment(graph.base_url, GRAPH_ENV)  # type: ignore[attr-defined]
    h = await harness_for(tmp_path / "data", meetings)
    try:
        await told_failure(
            h, graph, "login.microsoftonline.com", drain=False
        )  # each try waits out azure-identity's own retries
    finally:
        await h.services.tasks.close()
        await meetings.close()
        await h.services.store.close()


async def test_close_closes_every_http_session(graph: FakeGraph, entra: FakeEntra) -> None:
    """The Graph client (httpx) and the credential (aiohttp) both closed: no "Unclosed client session"."""
    loop = asyncio.get_running_loop()
    complaints: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: complaints.append(str(context.get("message"))))
    try:
        entra.answer = "token"
        credential = ClientSecretCredential(
            "tenant-1", "client-1", "not-the-secret", authority=entra.authority, connection_verify=str(entra.ca_path)
        )  # type: ignore[attr-defined]
        meetings = GraphMeetings.with_credential(graph.base_url, credential)  # type: ignore[attr-defined]
        await open_meeting(meetings, request())
        assert len(graph.events) == 1 and entra.requests == ["POST /tenant-1/oauth2/v2.0/token"]
        await meetings.close()
        await meetings.close()  # twice is harmless
        del meetings, credential
        gc.collect()
        await asyncio.sleep(0)  # let __del__'s exception-handler calls run
        assert not any("Unclosed" in c for c in complaints), complaints
    finally:
        loop.set_exception_handler(previous)


@pytest.mark.parametrize(
    "env, meetings",
    [
        ({}, "local"),
        ({"CHAPERONE_GRAPH_CLIENT_SECRET": "s"}, "graph"),
        ({"CHAPERONE_GRAPH_CERTIFICATE_PATH": "/etc/chaperone/graph.pem"}, "graph"),
        # the README: the Graph credentials fall back to the bot's MICROSOFT_APP_* (single tenant)
        ({"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TENANT_ID": "tenant-1"}, "graph"),
        ({"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "p", "CHAPERONE_GRAPH_TENANT_ID": "tenant-1"}, "graph"),
        (
            {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "p"},
            "local",
        ),  # multi-tenant bot, no tenant: not a Graph credential
        (
            {
                "MICROSOFT_APP_ID": "app",
                "MICROSOFT_APP_PASSWORD": "p",
                "MICROSOFT_APP_TENANT_ID": "tenant-1",
                "CHAPERONE_MEETINGS": "local",
            },
            "local",
        ),
    ],
)
def test_meetings_default_follows_the_documented_credentials(env: dict[str, str], meetings: str) -> None:
    assert Settings.from_env(env).meetings == meetings


async def test_the_fall_back_credentials_build_a_graph_provider() -> None:
    env = {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TENANT_ID": "tenant-1"}
    provider: Any = GraphMeetings.from_environment("https://graph.microsoft.com/v1.0", env)
    assert isinstance(provider, GraphMeetings)
    await provider.close()
