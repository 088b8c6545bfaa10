"""The Bot Connector REST API (v3) on aiohttp: send, reply, update, create a conversation, get a member.

Replaces botbuilder's msrest ``ConnectorClient``, which is built per turn with a new credential
and makes its identity calls with blocking ``requests``. One pooled session per process; the
bearer token comes from the cached ``AppToken`` (none in local mode).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.teams.identity import AppToken

log = logging.getLogger(__name__)


class ConnectorError(Exception):
    """The Bot Connector refused or failed a call (status 0: no answer)."""

    def __init__(self, status: int, what: str, retry_after: float | None = None) -> None:
        super().__init__(f"{what}: HTTP {status}")
        self.status = status
        self.retry_after = retry_after


RETRY_PAUSES = (0.2, 0.5)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Created:
    conversation_id: str
    activity_id: str
    service_url: str | None


def _seg(value: str) -> str:
    return quote(value, safe="")


class Connector:
    """One HTTP client for every Bot Connector call of the process."""

    def __init__(self, token: AppToken | None, *, timeout: float = 15.0) -> None:
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The shared pooled session (created on first use, inside the running loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=100, ttl_dns_cache=300)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def _headers(self) -> dict[str, str]:
        if self._token is None:
            return {}
        return {"Authorization": f"Bearer {await self._token.get()}"}

    async def _call(self, method: str, url: str, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One call; a 429 or 503 (the service did not take it) is tried again after Retry-After
        (at most 2 s) up to twice, as botbuilder's msrest client did."""
        for pause in (*RETRY_PAUSES, None):
            try:
                return await self._once(method, url, what, body)
            except ConnectorError as exc:
                if pause is None or exc.status not in (429, 503):
                    raise
                await asyncio.sleep(min(exc.retry_after if exc.retry_after is not None else pause, 2.0))
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: str, what: str, body: dict[str, Any] | None) -> dict[str, Any]:
        headers = await self._headers()
        try:
            async with self.session().request(method, url, json=body, headers=headers, timeout=self._timeout) as r:
                if r.status >= 300:
                    raise ConnectorError(r.status, what, _seconds(r.headers.get("Retry-After")))
                if r.content_length == 0:
                    return {}
                data = await r.json(content_type=None)
                return data if isinstance(data, dict) else {}
        except aiohttp.ClientError as exc:
            raise ConnectorError(0, what) from exc
        except TimeoutError as exc:
            raise ConnectorError(0, what) from exc

    @staticmethod
    def _base(service_url: str) -> str:
        return service_url.rstrip("/") + "/v3/conversations"

    async def send(
        self, service_url: str, conversation_id: str, activity: dict[str, Any], *, reply_to: str | None = None
    ) -> str:
        url = f"{self._base(service_url)}/{_seg(conversation_id)}/activities"
        if reply_to:
            url += f"/{_seg(reply_to)}"
        return str((await self._call("POST", url, "send", activity)).get("id") or "")

    async def update(self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]) -> str:
        url = f"{self._base(service_url)}/{_seg(conversation_id)}/activities/{_seg(activity_id)}"
        return str((await self._call("PUT", url, "update", activity)).get("id") or "")

    async def delete(self, service_url: str, conversation_id: str, activity_id: str) -> None:
        url = f"{self._base(service_url)}/{_seg(conversation_id)}/activities/{_seg(activity_id)}"
        await self._call("DELETE", url, "delete")

    async def create(self, service_url: str, params: dict[str, Any]) -> Created:
        data = await self._call("POST", self._base(service_url), "create conversation", params)
        return Created(str(data.get("id") or ""), str(data.get("activityId") or ""), data.get("serviceUrl"))

    async def member(self, service_url: str, conversation_id: str, member_id: str) -> dict[str, Any]:
        url = f"{self._base(service_url)}/{_seg(conversation_id)}/members/{_seg(member_id)}"
        return await self._call("GET", url, "member")

    async def paged_members(
        self, service_url: str, conversation_id: str, *, continuation: str | None = None, page_size: int = 500
    ) -> dict[str, Any]:
        """One page of a conversation's (a team's) members: ``{"members": [...], "continuationToken": ...}``."""
        url = f"{self._base(service_url)}/{_seg(conversation_id)}/pagedmembers?pageSize={page_size}"
        if continuation:
            url += f"&continuationToken={_seg(continuation)}"
        return await self._call("GET", url, "paged members")
