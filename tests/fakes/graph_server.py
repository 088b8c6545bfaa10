"""A loopback Microsoft Graph for tests: answers like Graph, validates every request body against
tests/data/schemas/graph/strict/, records every request, and fails on demand.

    graph = FakeGraph(users={"aad-tara"})
    base_url = await graph.start()           # http://127.0.0.1:PORT/v1.0
    graph.fail("429", times=2)                # also "500", "503", "403", "slow", "die_after_create"
    graph.fail("403", times=99, on="/onlineMeetings/", method="PATCH")   # only settings PATCHes
    graph.ignore_settings = {"allowMeetingChat"}  # a tenant policy: PATCH answers 200, the field stays
    ...
    assert graph.schema_failures == [] and len(graph.events) == 1

Like Graph, a repeated event POST with the same ``transactionId`` returns the event it made.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.support.schemas import graph_validator

TEAMS_DEFAULTS = {
    "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": True},
    "allowedLobbyAdmitters": "organizerAndCoOrganizersAndPresenters",
    "allowedPresenters": "everyone",
    "allowMeetingChat": "enabled",
    "allowRecording": True,
    "recordAutomatically": False,
    "allowTranscription": True,
    "allowAttendeeToEnableCamera": True,
    "allowAttendeeToEnableMic": True,
    "allowParticipantsToChangeName": True,
    "isEntryExitAnnounced": False,
}


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int = 0


@dataclass
class FakeGraph:
    users: set[str] = field(default_factory=lambda: {"aad-tara"})
    calls: list[Call] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # meeting id -> attendance records
    schema_failures: list[str] = field(default_factory=list)
    slow_seconds: float = 5.0
    #: Entra groups: group id -> members, each a user object id or "group:<id>" for a nested group.
    groups: dict[str, list[str]] = field(default_factory=dict)
    #: When set, group requests need "Authorization: Bearer <token>" (a token credential's token).
    require_token: str | None = None
    page_size: int = 2
    #: Settings a meeting PATCH accepts but does not change (as when a Teams policy overrides them).
    ignore_settings: set[str] = field(default_factory=set)
    _faults: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    def fail(self, kind: str, *, times: int = 1, on: str | None = None, method: str | None = None) -> None:
        """Make the next ``times`` requests (or only those whose path contains ``on``, and whose
        method is ``method``) fail."""
        self._faults += [(kind, on, method)] * times

    def heal(self) -> None:
        """Drop every fault still pending."""
        self._faults.clear()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/v1.0/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1.0"  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # --- helpers for tests ------------------------------------------------------------
    def meeting_for(self, booking_id: str) -> dict[str, Any]:
        event = next(e for e in self.events.values() if e["transactionId"] == booking_id)
        return next(m for m in self.meetings.values() if m["joinWebUrl"] == event["onlineMeeting"]["joinUrl"])

    def change_setting(self, booking_id: str, name: str, value: Any) -> None:
        """What an organiser does in Teams' meeting options behind Chaperone's back."""
        self.meeting_for(booking_id)[name] = value

    # --- the fake -------------------------------------------------------------------
    def _transitive(self, group: str, seen: set[str]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for m in self.groups.get(group, []):
            if m.startswith("group:"):
                nested = m.split(":", 1)[1]
                out.append({"@odata.type": "#microsoft.graph.group", "id": nested})
                if nested not in seen:
                    seen.add(nested)
                    out += self._transitive(nested, seen)
            else:
                out.append({"@odata.type": "#microsoft.graph.user", "id": m})
        return out

    def _members(self, request: web.Request, group: str) -> web.Response:
        if self.require_token is not None and request.headers.get("Authorization") != f"Bearer {self.require_token}":
            return self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self._take_fault(request.method, request.path) == "403":
            return self._error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        if group not in self.groups:
            return self._error(404, "Request_ResourceNotFound", f"Resource '{group}' does not exist.")
        if request.query.get("$select") != "id":
            return self._error(400, "BadRequest", "select id only: Chaperone reads object ids, nothing else")
        members = self._transitive(group, {group})
        skip = int(request.query.get("$skiptoken") or 0)
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id)",
            "value": members[skip : skip + self.page_size],
        }
        if skip + self.page_size < len(members):
            body["@odata.nextLink"] = str(
                request.url.with_query({"$select": "id", "$skiptoken": str(skip + self.page_size)})
            )
        return web.json_response(body)

    def _error(self, status: int, code: str, message: str, **headers: str) -> web.Response:
        request_id = str(uuid.uuid4())
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "request-id": request_id,
                    "client-request-id": request_id,
                    "date": datetime.now(UTC).isoformat(),
                },
            }
        }
        return web.json_response(body, status=status, headers={"request-id": request_id, **headers})

    def _validate(self, schema: str, body: Any) -> web.Response | None:
        errors = sorted(graph_validator(schema).iter_errors(body), key=lambda e: list(e.path))
        if errors:
            self.schema_failures.append(f"{schema}: {errors[0].message} at {'/'.join(map(str, errors[0].path))}")
            return self._error(400, "BadRequest", f"schema {schema}: {errors[0].message}")
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path + (f"?{request.query_string}" if request.query_string else ""), body)
        self.calls.append(call)
        response = await self._route(request, path, body)
        call.status = getattr(response, "status", 0)
        return response

    def _take_fault(self, method: str, path: str) -> str | None:
        for i, (kind, on, only) in enumerate(self._faults):
            if (on is None or on in path) and (only is None or only == method):
                del self._faults[i]
                return kind
        return None

    async def _route(self, request: web.Request, path: str, body: Any) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "groups" and parts[2] == "transitiveMembers" and request.method == "GET":
            return self._members(request, parts[1])
        if len(parts) < 2 or parts[0] != "users":
            return self._error(404, "NotFound", "no such resource")
        user = parts[1]
        fault = self._take_fault(request.method, path)
        if fault == "429":
            return self._error(429, "TooManyRequests", "Too many requests", **{"Retry-After": "1"})
        if fault == "503":
            return self._error(503, "ServiceUnavailable", "Service unavailable", **{"Retry-After": "1"})
        if fault == "500":
            return self._error(500, "InternalServerError", "Something went wrong.")
        if fault == "403":
            return self._error(403, "Forbidden", "No application access policy found for this app.")
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        if user not in self.users:
            return self._error(404, "ErrorInvalidUser", "The requested user is invalid.")
        rest = parts[2:]
        if rest == ["events"] and request.method == "POST":
            if (bad := self._validate("microsoft.graph.event", body)) is not None:
                return bad
            event = self._create_event(user, body)
            if fault == "die_after_create":
                assert request.transport is not None
                request.transport.close()  # the event exists; the caller never hears
                return web.Response(status=201)
            return web.json_response(event, status=201)
        if len(rest) == 3 and rest[0] == "events" and rest[2] == "cancel" and request.method == "POST":
            if (bad := self._validate("action.event.cancel", body)) is not None:
                return bad
            event = self.events.get(rest[1])
            if event is None or event["isCancelled"]:
                return self._error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            event["isCancelled"] = True
            event["cancelComment"] = body.get("Comment") or body.get("comment")
            return web.Response(status=202)
        if len(rest) == 2 and rest[0] == "events" and request.method in ("GET", "PATCH"):
            event = self.events.get(rest[1])
            if event is None or event["_organizer"] != user or event["isCancelled"]:
                return self._error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            if request.method == "PATCH":
                if (bad := self._validate("microsoft.graph.event", body)) is not None:
                    return bad
                event.update({k: v for k, v in body.items() if not k.startswith("@")})
            return web.json_response(event)
        if rest == ["onlineMeetings"] and request.method == "GET":
            wanted = request.query.get("$filter", "")
            url = wanted.split("eq", 1)[1].strip().strip("'").replace("''", "'") if "eq" in wanted else ""
            found = [m for m in self.meetings.values() if m["joinWebUrl"] == url and m["_organizer"] == user]
            return web.json_response({"value": found})
        if len(rest) == 2 and rest[0] == "onlineMeetings":
            meeting = self.meetings.get(rest[1])
            if meeting is None or meeting["_organizer"] != user:
                return self._error(404, "NotFound", "meeting not found")
            if request.method == "GET":
                return web.json_response(meeting)
            if request.method == "PATCH":
                if (bad := self._validate("microsoft.graph.onlineMeeting", body)) is not None:
                    return bad
                meeting.update(
                    {k: v for k, v in body.items() if not k.startswith("@") and k not in self.ignore_settings}
                )
                return web.json_response(meeting)
        if len(rest) >= 3 and rest[0] == "onlineMeetings" and rest[2] == "attendanceReports":
            records = self.reports.get(rest[1])
            if len(rest) == 3:
                if records is None:
                    return web.json_response({"value": []})
                return web.json_response(
                    {
                        "value": [
                            {
                                "id": f"report-{rest[1]}",
                                "meetingEndDateTime": datetime.now(UTC).isoformat(),
                                "totalParticipantCount": len(records),
                            }
                        ]
                    }
                )
            if len(rest) == 5 and rest[4] == "attendanceRecords":
                return web.json_response({"value": records or []})
        return self._error(400, "BadRequest", f"the fake does not serve {request.method} {path}")

    def _create_event(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        for event in self.events.values():
            if event["_organizer"] == user and event["transactionId"] == body.get("transactionId"):
                return event  # Graph: a repeated POST with the same transactionId returns the same event
        n = next(self._ids)
        event_id, meeting_id = f"event-{n}", f"meeting-{n}"
        join = f"https://teams.example.org/l/meetup-join/{meeting_id}?ctx=fake"
        event = {**body, "id": event_id, "_organizer": user, "onlineMeeting": {"joinUrl": join}, "isCancelled": False}
        self.events[event_id] = event
        self.meetings[meeting_id] = {
            "id": meeting_id,
            "_organizer": user,
            "joinWebUrl": join,
            "meetingOptionsWebUrl": f"https://teams.example.org/options/{meeting_id}",
            **json.loads(json.dumps(TEAMS_DEFAULTS)),
        }
        return event
