"""POST /api/messages, written around CloudAdapter.process_activity.

botbuilder 4.17.1's ``CloudAdapter.process`` serialises an invoke's body twice (HTTP 500 for
every Action.Execute) and turns a malformed bearer token into a 500. Here authentication runs
first, on its own, so any failure of it is a 401; then the turn runs with that result, and an
invoke's body is returned as it is.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024


def messages_route(adapter: CloudAdapter, logic: Callable[[TurnContext], Awaitable[None]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def messages(request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        if request.content_length and request.content_length > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        try:
            body: Any = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
            activity = Activity().deserialize(body)
        except (ValueError, json.JSONDecodeError, TypeError, AttributeError):
            return web.json_response({"error": "malformed activity"}, status=400)
        auth_header = request.headers.get("Authorization", "")
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(activity, auth_header)
        except Exception as exc:  # noqa: BLE001 - PermissionError, jwt errors, KeyError...: all mean "not authenticated"
            log.info("unauthenticated request activity=%s reason=%s", activity.id, type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        response = await adapter.process_activity(auth, activity, logic)
        if response is None:
            return web.Response(status=200)
        return web.json_response(response.body, status=response.status)

    return messages
