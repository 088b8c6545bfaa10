"""POST /api/messages: parse, authenticate, check the tenant, then run the turn.

Every failure from outside has its own status and never a 500: 415/413/400 for the body (deep or
hostile JSON included), 401 for any authentication failure, 503 + Retry-After when the signing
keys cannot be fetched in time, 403 for a tenant that is not the school's (audited; nothing
stored). Ids from an unauthenticated request reach the log only through ``safe_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.audit import Audit
from bot.clock import Clock
from bot.store.base import Store
from bot.teams.adapter import ChaperoneAdapter
from bot.teams.identity import AuthError, IdentityUnavailable, TokenValidator, safe_id
from bot.teams.translate import tenant_of

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
MAX_DEPTH = 32
RETRY_AFTER = "5"


class _Malformed(Exception):
    """The body is not a Bot Framework activity (HTTP 400); the message is a short code, never shown."""


def _depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """No container nested deeper than ``limit`` (iterative: a hostile body cannot recurse us)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return True


def parse_activity(raw: bytes) -> Activity:
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise _Malformed("not_json") from exc
    if not isinstance(body, dict) or not _depth_ok(body):
        raise _Malformed("not_an_activity")
    try:
        activity = Activity().deserialize(body)
    except Exception as exc:
        raise _Malformed("not_an_activity") from exc
    if not isinstance(activity.type, str) or not activity.type:
        raise _Malformed("no_activity_type")
    return activity


def messages_route(
    adapter: ChaperoneAdapter,
    logic: Callable[[TurnContext], Awaitable[None]],
    *,
    validator: TokenValidator | None,
    tenants: frozenset[str],
    store: Store,
    clock: Clock,
    max_turns: int = 0,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route. ``validator`` None means local mode (no authentication; loopback only).
    ``max_turns`` > 0 admits at most that many requests at once (first come, first served): in a
    burst, each waiting turn costs nothing, and the event loop runs a few turns' steps per pass
    instead of hundreds (shorter stalls, earlier answers for the first in line)."""
    audit = Audit(store)
    gate = asyncio.Semaphore(max_turns) if max_turns > 0 else None

    async def messages(request: web.Request) -> web.Response:
        if gate is None:
            return await admitted(request)
        async with gate:
            return await admitted(request)

    async def admitted(request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        if request.content_length and request.content_length > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "too large"}, status=413)
        try:
            activity = parse_activity(raw)
        except _Malformed:
            return web.json_response({"error": "malformed activity"}, status=400)
        if validator is not None:
            try:
                await validator.validate(
                    request.headers.get("Authorization", ""),
                    channel_id=str(activity.channel_id or ""),
                    service_url=activity.service_url,
                )
            except IdentityUnavailable:
                log.warning("identity unavailable: request refused for now activity=%s", safe_id(activity.id))
                return web.json_response({"error": "try again"}, status=503, headers={"Retry-After": RETRY_AFTER})
            except AuthError as exc:
                log.info("unauthenticated request activity=%s reason=%s", safe_id(activity.id), safe_id(str(exc)))
                return web.json_response({"error": "unauthorized"}, status=401)
            except Exception as exc:
                log.info("unauthenticated request activity=%s reason=%s", safe_id(activity.id), type(exc).__name__)
                return web.json_response({"error": "unauthorized"}, status=401)
        tenant = tenant_of(activity)
        if not tenant or tenant.strip().lower() not in tenants:
            who = getattr(activity.from_property, "aad_object_id", None) or getattr(activity.from_property, "id", None)
            log.warning(
                "activity from a tenant that is not the school's refused tenant=%s activity=%s",
                safe_id(tenant),
                safe_id(activity.id),
            )
            try:
                await audit.record(
                    at=clock.now(),
                    who=safe_id(who or "unknown"),
                    action="turn.refused.tenant",
                    record="-",
                    detail=f"tenant={safe_id(tenant or 'none')}",
                )
            except Exception as exc:
                log.error("audit of a refused tenant failed error=%s", type(exc).__name__)
            return web.json_response({"error": "forbidden"}, status=403)
        response = await adapter.process(activity, logic)
        if response is None:
            return web.Response(status=200)
        return web.json_response(response.body, status=response.status)

    return messages
