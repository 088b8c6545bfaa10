"""An async client for Microsoft's Agents Playground, driving it the way its own web UI does.

    pg = Playground("http://127.0.0.1:56150")
    await pg.start()                                   # opens the conversation WebSocket
    await pg.say(pg.personal_chat, "/book")            # as the current user (Tara)
    form = await pg.wait_for(lambda m: "Book a session" in m.text)
    await pg.submit(pg.personal_chat, form.message_id, {...})
    await pg.invoke(post_conversation, message_id, "second.accept", {"ref": ...}, user="user-id-sam")
    await pg.as_user(activity)                         # any whole activity (another user's message)

In 0.2.28 typed messages always come from the configured current user; submit and invoke take
any configured user; ``as_user`` posts a whole activity to /_internal/v1/customActivities.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aiohttp


@dataclass
class Frame:
    action: str
    conversation: str
    message_id: str
    post_conversation: str | None
    cards: list[dict[str, Any]]
    raw: dict[str, Any]

    @property
    def text(self) -> str:
        parts: list[str] = []

        def walk(n: Any) -> None:
            if isinstance(n, dict):
                for k in ("text", "title", "value"):
                    if isinstance(n.get(k), str):
                        parts.append(n[k])
                for v in n.values():
                    walk(v)
            elif isinstance(n, list):
                for v in n:
                    walk(v)

        walk(self.cards)
        return "\n".join(parts)


@dataclass
class Playground:
    url: str
    frames: list[Frame] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    _http: aiohttp.ClientSession | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"{self.url}/_internal/v1/config") as r:
            self.config = (await r.json())["config"]
        ws = await self._http.ws_connect(f"{self.url}/_ws_conversation/v1/conversations/stream")
        self._reader = asyncio.create_task(self._read(ws))

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self._http:
            await self._http.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            self.feed(json.loads(msg.data))

    def feed(self, d: dict[str, Any]) -> None:
        """One frame of the conversation stream (live, or replayed from a recording)."""
        m = d.get("message") or {}
        cards = [
            a.get("content")
            for a in m.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]
        self.frames.append(
            Frame(
                d.get("action", ""),
                d.get("actionConversationId", ""),
                str(m.get("messageId", "")),
                m.get("postConversationId"),
                cards,
                d,
            )
        )
        self._changed.set()

    # --- the tenant -------------------------------------------------------------------
    @property
    def bot(self) -> dict[str, str]:
        return {"id": self.config["bot"]["id"], "name": self.config["bot"]["name"]}

    @property
    def personal_chat(self) -> str:
        return str(self.config["personalChat"]["id"])

    @property
    def team(self) -> dict[str, Any]:
        return dict(self.config["teams"][0])

    def channel(self, name: str) -> str:
        return next(c["id"] for c in self.team["channels"] if c["name"] == name)

    def user(self, user_id: str) -> dict[str, Any]:
        people = [self.config["currentUser"], *self.config["users"]]
        return next(u for u in people if u["id"] == user_id)

    # --- acting -----------------------------------------------------------------------
    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        assert self._http is not None
        async with self._http.post(f"{self.url}{path}", json=body) as r:
            text = await r.text()
            if r.status >= 300:
                raise AssertionError(f"{path} -> {r.status}: {text[:500]}")
            return json.loads(text) if text else None

    async def say(self, conversation: str, text: str, *, mention: bool = False) -> Any:
        body: dict[str, Any] = {
            "type": "text",
            "text": text,
            "textFormat": "plain",
            "from": {"id": self.config["currentUser"]["id"]},
        }
        if mention:
            body["text"] = f"<at>{self.bot['name']}</at> {text}"
            body["mentions"] = [{"mentioned": {"id": self.bot["id"]}, "text": f"<at>{self.bot['name']}</at>"}]
        return await self._post(f"/_conversation/v1/conversations/{conversation}/messages", body)

    async def submit(self, conversation: str, reply_to: str, value: dict[str, Any], *, user: str | None = None) -> Any:
        return await self._post(
            "/_conversation/v1/submit",
            {
                "conversation": {"id": conversation},
                "replyToId": reply_to,
                "value": value,
                "from": {"id": user or self.config["currentUser"]["id"]},
            },
        )

    async def invoke(self, conversation: str, reply_to: str, verb: str, data: dict[str, Any], *, user: str) -> Any:
        body = {
            "name": "adaptiveCard/action",
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": {"verb": verb, **data}}},
            "from": {"id": user},
            "conversation": {"id": conversation},
            "replyToId": reply_to,
        }
        return await self._post("/_conversation/v1/invoke", body)

    async def as_user(self, user_id: str, text: str, *, channel: str) -> None:
        """A message in a channel from someone other than the current user (custom activity)."""
        u = self.user(user_id)
        activity = {
            "type": "message",
            "id": str(uuid.uuid4()),
            "channelId": "msteams",
            "serviceUrl": f"{self.url}/_connector",
            "from": {"id": u["id"], "name": u["name"], "aadObjectId": u["aadObjectId"]},
            "recipient": self.bot,
            "text": f"<at>{self.bot['name']}</at> {text}",
            "textFormat": "plain",
            "entities": [{"type": "mention", "mentioned": self.bot, "text": f"<at>{self.bot['name']}</at>"}],
            "conversation": {
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": self.config["tenantId"],
                "id": channel,
            },
            "channelData": {
                "tenant": {"id": self.config["tenantId"]},
                "team": {"id": self.team["id"]},
                "channel": {"id": channel},
            },
        }
        await self._post("/_internal/v1/customActivities", activity)

    def current(self) -> dict[str, Frame]:
        """The latest version of every message seen (created, then updated in place), by message id."""
        latest: dict[str, Frame] = {}
        for f in self.frames:
            if f.action in ("createMessage", "updateMessage") and f.message_id:
                first = latest.get(f.message_id)
                # an update frame may lack the thread id the create had: keep where it lives
                latest[f.message_id] = (
                    f
                    if first is None or f.post_conversation
                    else Frame(f.action, f.conversation, f.message_id, first.post_conversation, f.cards, f.raw)
                )
        return latest

    def find_button(self, title: str, *, containing: str = "", conversation: str = "") -> tuple[Frame, dict[str, Any]]:
        """The newest card showing a button whose title starts with ``title`` (case-insensitive)."""
        wanted = title.casefold()
        for frame in reversed(list(self.current().values())):
            if conversation and not frame.conversation.startswith(conversation):
                continue
            if containing and containing not in frame.text:
                continue
            for action in _actions(frame.cards):
                if str(action.get("title", "")).casefold().startswith(wanted):
                    return frame, action
        shown = sorted({str(a.get("title")) for f in self.current().values() for a in _actions(f.cards)})
        raise LookupError(
            f"no card shows a button {title!r}{' with ' + repr(containing) if containing else ''}; buttons on screen: {', '.join(shown) or 'none'}"
        )

    async def press(
        self,
        title: str,
        *,
        user: str,
        containing: str = "",
        conversation: str = "",
        inputs: dict[str, Any] | None = None,
    ) -> Any:
        """Click a card's button by its title, as ``user``: Action.Submit as a submit (with the card's
        input values, overridden by ``inputs``), Action.Execute as an invoke. Returns the invoke's answer."""
        frame, action = self.find_button(title, containing=containing, conversation=conversation)
        data = dict(action.get("data") or {})
        where = frame.post_conversation or frame.conversation
        if action.get("type") == "Action.Execute":
            verb = str(action.get("verb") or data.get("verb"))
            return await self.invoke(
                where, frame.message_id, verb, {k: v for k, v in data.items() if k != "verb"}, user=user
            )
        values = {**input_values(frame.cards), **(inputs or {}), **data}
        return await self.submit(where, frame.message_id, values, user=user)

    # --- waiting ----------------------------------------------------------------------
    async def wait_for(self, predicate: Callable[[Frame], bool], *, timeout: float = 20.0, after: int = 0) -> Frame:
        """The first frame (from index ``after``) matching ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for f in self.frames[after:]:
                if predicate(f):
                    return f
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = "\n".join(f"{f.action} {f.conversation} {f.text[:80]!r}" for f in self.frames[after:])
                raise AssertionError(f"no matching frame within {timeout}s; saw:\n{seen}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 1.0))
            except TimeoutError:
                pass


def next_wednesday() -> str:
    """A school day in the future, inside the example protocol's hours (for bookings in tests and the walkthrough)."""
    today = date.today()
    return (today + timedelta(days=(2 - today.weekday()) % 7 or 7)).isoformat()


async def set_up(pg: Playground) -> tuple[str, str]:
    """Ivy (admin) types /setup in the Safeguarding and General channels; returns their ids."""
    safeguarding, general = pg.channel("Safeguarding"), pg.channel("General")
    await pg.as_user("user-id-ivy", "/setup safeguarding", channel=safeguarding)
    await pg.wait_for(lambda f: f.conversation == safeguarding and "Chaperone is set up" in f.text)
    await pg.as_user("user-id-ivy", "/setup slt", channel=general)
    await pg.wait_for(lambda f: f.conversation == general and "Chaperone is set up" in f.text)
    return safeguarding, general


def _nodes(n: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(n, dict):
        out.append(n)
        for v in n.values():
            out.extend(_nodes(v))
    elif isinstance(n, list):
        for v in n:
            out.extend(_nodes(v))
    return out


def _actions(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in _nodes(cards) if n.get("type") in ("Action.Submit", "Action.Execute")]


def input_values(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client sends for the card's inputs as they are shown (their current values)."""
    return {
        str(n["id"]): ("" if n.get("value") is None else str(n.get("value")))
        for n in _nodes(cards)
        if str(n.get("type", "")).startswith("Input.") and "id" in n
    }
