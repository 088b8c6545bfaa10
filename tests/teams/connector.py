"""A loopback Bot Connector: records what the bot sends and answers like the real service."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.schemas import assert_valid_card

USERS: dict[str, dict[str, str]] = {
    "tara": {
        "id": "29:tara",
        "name": "Tara Teacher",
        "aadObjectId": "aad-tara",
        "email": "tara.teacher@example.org",
        "userPrincipalName": "tara.teacher@example.org",
    },
    "oli": {
        "id": "29:oli",
        "name": "Oli Other",
        "aadObjectId": "aad-oli",
        "email": "oli.other@example.org",
        "userPrincipalName": "oli.other@example.org",
    },
    "sam": {
        "id": "29:sam",
        "name": "Sam Senior",
        "aadObjectId": "aad-sam",
        "email": "sam.senior@example.org",
        "userPrincipalName": "sam.senior@example.org",
    },
    "dee": {
        "id": "29:dee",
        "name": "Dee Lead",
        "aadObjectId": "aad-dee",
        "email": "dee.lead@example.org",
        "userPrincipalName": "dee.lead@example.org",
    },
    "ivy": {
        "id": "29:ivy",
        "name": "Ivy Admin",
        "aadObjectId": "aad-ivy",
        "email": "ivy.admin@example.org",
        "userPrincipalName": "ivy.admin@example.org",
    },
    "hana": {
        "id": "29:hana",
        "name": "Hana Head",
        "aadObjectId": "aad-hana",
        "email": "hana.head@example.org",
        "userPrincipalName": "hana.head@example.org",
    },
    # a B2B guest whose address is on the staff domain: never staff
    "gus": {
        "id": "29:gus",
        "name": "Gus Guest",
        "aadObjectId": "aad-gus",
        "email": "gus.guest@example.org",
        "userPrincipalName": "gus.guest_example.org#EXT#@oakfield.onmicrosoft.com",
        "userRole": "guest",
    },
    # someone in another tenant whose roster email is the DSL's
    "mallory": {
        "id": "29:mallory",
        "name": "Dee Lead",
        "aadObjectId": "aad-mallory",
        "email": "dee.lead@example.org",
        "userPrincipalName": "dee.lead@example.org",
    },
    "pia": {
        "id": "29:pia",
        "name": "Pia Pupil",
        "aadObjectId": "aad-pia",
        "email": "pia@pupils.example.org",
        "userPrincipalName": "pia@pupils.example.org",
    },
}


@dataclass
class Sent:
    method: str
    conversation: str
    activity_id: str
    body: dict[str, Any]

    @property
    def card(self) -> dict[str, Any] | None:
        for a in self.body.get("attachments") or []:
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return a["content"]
        return None


@dataclass
class FakeConnector:
    """Records POSTed and PUT activities and created conversations; serves members."""

    sent: list[Sent] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    member_calls: int = 0
    #: The Authorization header of every call (None when absent).
    auth: list[str | None] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    #: While True, every new post in a channel is refused (503) and counted; other calls work.
    refuse_channels: bool = False
    refused: int = 0
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._note_auth])
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conv}/activities", self._send)
        app.router.add_post("/v3/conversations/{conv}/activities/{reply_to}", self._send)
        app.router.add_put("/v3/conversations/{conv}/activities/{activity_id}", self._update)
        app.router.add_get("/v3/conversations/{conv}/members/{member}", self._member)
        app.router.add_get("/v3/conversations/{conv}/pagedmembers", self._paged)
        return app

    @web.middleware
    async def _note_auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.auth.append(request.headers.get("Authorization"))
        response: web.StreamResponse = await handler(request)
        return response

    def _fail(self) -> web.Response | None:
        if self.fail_next:
            return web.json_response(
                {"error": {"code": "Forbidden", "message": "injected"}}, status=self.fail_next.pop(0)
            )
        return None

    def _record(self, method: str, conv: str, activity_id: str, body: dict[str, Any]) -> None:
        s = Sent(method, conv, activity_id, body)
        if s.card is not None:
            assert_valid_card(s.card)  # every card the bot sends must be a valid Adaptive Card 1.5
        self.sent.append(s)

    async def _create(self, request: web.Request) -> web.Response:
        if (fail := self._fail()) is not None:
            return fail
        body = await request.json()
        data = body.get("channelData") or {}
        if self.refuse_channels and body.get("isGroup") and data.get("channel"):
            self.refused += 1
            return web.json_response({"error": {"code": "ServiceUnavailable", "message": "injected"}}, status=503)
        self.created.append(body)
        activity_id = str(next(self._ids))
        if body.get("isGroup") and data.get("channel"):
            conv = f"{data['channel']['id']};messageid={activity_id}"
            if body.get("activity"):
                self._record("POST", conv, activity_id, body["activity"])
        else:
            conv = f"a:personal-{body['members'][0]['id']}"
        return web.json_response({"id": conv, "activityId": activity_id, "serviceUrl": self.url})

    async def _send(self, request: web.Request) -> web.Response:
        if (fail := self._fail()) is not None:
            return fail
        activity_id = str(next(self._ids))
        self._record("POST", request.match_info["conv"], activity_id, await request.json())
        return web.json_response({"id": activity_id})

    async def _update(self, request: web.Request) -> web.Response:
        if (fail := self._fail()) is not None:
            return fail
        activity_id = request.match_info["activity_id"]
        self._record("PUT", request.match_info["conv"], activity_id, await request.json())
        return web.json_response({"id": activity_id})

    async def _member(self, request: web.Request) -> web.Response:
        self.member_calls += 1
        member = request.match_info["member"]
        for user in USERS.values():
            if member in (user["id"], user["aadObjectId"]):
                return web.json_response(user)
        return web.json_response({"error": {"code": "NotFound", "message": "member not found"}}, status=404)

    async def _paged(self, request: web.Request) -> web.Response:
        """The team roster, two members a page (mallory is in another tenant: not on it)."""
        roster = [u for k, u in USERS.items() if k != "mallory"]
        start = int(request.query.get("continuationToken") or 0)
        body: dict[str, Any] = {"members": roster[start : start + 2]}
        if start + 2 < len(roster):
            body["continuationToken"] = str(start + 2)
        return web.json_response(body)

    # --- for assertions ---------------------------------------------------------------
    def posts(self, conversation: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.sent
            if s.method == "POST" and (conversation is None or s.conversation.startswith(conversation))
        ]

    def channel_posts(self, channel: str) -> list[Sent]:
        """New top-level posts in a channel (each starts its own thread), not replies in a thread."""
        return [s for s in self.sent if s.method == "POST" and s.conversation == f"{channel};messageid={s.activity_id}"]

    def updates(self, activity_id: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.method == "PUT" and (activity_id is None or s.activity_id == activity_id)]

    def cards(self, conversation: str | None = None) -> list[dict[str, Any]]:
        return [
            s.card
            for s in self.sent
            if s.card is not None and (conversation is None or s.conversation.startswith(conversation))
        ]
