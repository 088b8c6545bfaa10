"""ChaperoneAdapter: botbuilder's turn pipeline (TurnContext, middleware, on_turn_error) over our own
aiohttp Bot Connector client; nothing in a turn blocks the event loop or calls an identity endpoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import BotAdapter, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse
from msrest.serialization import Model

from bot.teams.connector import Connector
from bot.teams.identity import safe_id

log = logging.getLogger(__name__)
INVOKE_RESPONSE_KEY = BotAdapter._INVOKE_RESPONSE_KEY


def _fast_retry_policy() -> None:
    """msrest's ``ClientRetryPolicy`` constructor scans a 501-item *list* for each of 999 status
    codes. Nothing of ours builds msrest clients any more, but botbuilder code paths still can;
    the same codes in a frozenset give the same policy for a fraction of the cost."""
    from msrest.universal_http.requests import ClientRetryPolicy

    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


_fast_retry_policy()


class _Slow(Exception):
    """A value the fast path does not handle: use msrest's serializer."""


def _fast(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, spec in type(model)._attribute_map.items():
        value = getattr(model, attr, None)
        if value is None:
            continue
        kind = spec["type"]
        if isinstance(value, Model):
            out[spec["key"]] = _fast(value)
        elif kind in ("str", "bool", "object"):
            out[spec["key"]] = value
        elif kind.startswith("[") and isinstance(value, list):
            out[spec["key"]] = [_fast(v) if isinstance(v, Model) else v for v in value]
        else:
            raise _Slow(attr)
    return out


def wire(model: Any) -> dict[str, Any]:
    """An activity (or any botbuilder schema object) as the Bot Connector's JSON. msrest's
    ``serialize`` costs ~1.5 ms per card activity; the same JSON built from the attribute map
    costs a few microseconds (dates and anything unusual still go through msrest)."""
    try:
        return _fast(model)
    except _Slow:
        body: dict[str, Any] = model.serialize()
        return body


class ChaperoneAdapter(BotAdapter):  # type: ignore[misc]
    """Sends, replies and updates through ``Connector``; invoke responses stay in the turn state."""

    def __init__(self, connector: Connector) -> None:
        super().__init__()
        self.connector = connector

        async def on_error(context: TurnContext, error: Exception) -> None:
            # Errors inside our handler are turned into cards by the router; this is the last resort.
            log.error(
                "unhandled turn error activity=%s", safe_id(getattr(context.activity, "id", None)), exc_info=error
            )

        self.on_turn_error = on_error

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        responses: list[ResourceResponse] = []
        for activity in activities:
            if activity.type == "delay":
                await asyncio.sleep(int(activity.value or 1000) / 1000)
                responses.append(ResourceResponse(id=""))
            elif activity.type == ActivityTypes.invoke_response:
                context.turn_state[INVOKE_RESPONSE_KEY] = activity
                responses.append(ResourceResponse(id=""))
            elif activity.type == ActivityTypes.trace:
                responses.append(ResourceResponse(id=""))
            else:
                activity.id = None
                sent = await self.connector.send(
                    activity.service_url, activity.conversation.id, wire(activity), reply_to=activity.reply_to_id
                )
                responses.append(ResourceResponse(id=sent))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> ResourceResponse:
        sent = await self.connector.update(activity.service_url, activity.conversation.id, activity.id, wire(activity))
        return ResourceResponse(id=sent or activity.id)

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        await self.connector.delete(reference.service_url, reference.conversation.id, reference.activity_id)

    async def process(
        self, activity: Activity, logic: Callable[[TurnContext], Awaitable[None]]
    ) -> InvokeResponse | None:
        """Run one authenticated turn; an invoke's answer is returned as it is (501 if none)."""
        context = TurnContext(self, activity)
        await self.run_pipeline(context, logic)
        if activity.type == ActivityTypes.invoke:
            answer = context.turn_state.get(INVOKE_RESPONSE_KEY)
            if answer is None:
                return InvokeResponse(status=501)
            value: InvokeResponse = answer.value
            return value
        return None
