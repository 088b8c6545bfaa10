"""Teams-shaped activities built from the captures in tests/data/teams-activities/."""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache
from typing import Any

from tests.support.schemas import DATA
from tests.teams.connector import USERS

SAMPLES = DATA / "teams-activities"
BOT = {"id": "28:chaperone-bot", "name": "Chaperone"}
TENANT = "00000000-0000-0000-0000-0000000000001"
TEAM = "19:team-general@thread.tacv2"
SAFEGUARDING = "19:safeguarding@thread.tacv2"
SLT = "19:slt@thread.tacv2"
GROUP_CHAT = "19:group-chat-tara-oli@thread.v2"


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _shape(sample: str, *, service_url: str, user: str, scope: str, channel: str | None) -> dict[str, Any]:
    a = copy.deepcopy(_sample(sample))
    u = USERS[user]
    a["id"] = str(uuid.uuid4())
    a["serviceUrl"] = service_url
    a["from"] = {"id": u["id"], "name": u["name"], "aadObjectId": u["aadObjectId"]}
    a["recipient"] = dict(BOT)
    a.setdefault("channelData", {})["tenant"] = {"id": TENANT}
    if scope == "personal":
        a["conversation"] = {"conversationType": "personal", "tenantId": TENANT, "id": f"a:personal-{u['id']}"}
    elif scope == "groupChat":
        a["conversation"] = {"isGroup": True, "conversationType": "groupChat", "tenantId": TENANT, "id": GROUP_CHAT}
        for k in ("teamsChannelId", "teamsTeamId", "team", "channel"):
            a["channelData"].pop(k, None)
    elif scope == "channel":
        ch = channel or TEAM
        a["conversation"] = {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": f"{ch};messageid=1",
        }
        a["channelData"].update(
            {"teamsChannelId": ch, "teamsTeamId": TEAM, "team": {"id": TEAM}, "channel": {"id": ch}}
        )
    return a


def message(
    text: str, *, service_url: str, user: str = "tara", scope: str = "personal", channel: str | None = None
) -> dict[str, Any]:
    a = _shape(f"message_text__{scope}", service_url=service_url, user=user, scope=scope, channel=channel)
    if scope == "personal":
        a["text"] = text
        a["entities"] = [e for e in a.get("entities", []) if e.get("type") != "mention"]
    else:
        a["text"] = f"<at>Chaperone</at> {text}"
        a["entities"] = [{"type": "mention", "mentioned": dict(BOT), "text": "<at>Chaperone</at>"}]
    return a


def submit(
    value: dict[str, Any],
    *,
    reply_to: str,
    service_url: str,
    user: str = "tara",
    scope: str = "personal",
    channel: str | None = None,
) -> dict[str, Any]:
    a = _shape(f"message_submit__{scope}", service_url=service_url, user=user, scope=scope, channel=channel)
    a["value"] = value
    a["replyToId"] = reply_to
    a.pop("text", None)
    return a


def execute(
    verb: str,
    data: dict[str, Any],
    *,
    reply_to: str,
    service_url: str,
    user: str = "tara",
    scope: str = "personal",
    channel: str | None = None,
) -> dict[str, Any]:
    a = _shape(f"invoke_adaptiveCard-action__{scope}", service_url=service_url, user=user, scope=scope, channel=channel)
    a["value"] = {"action": {"type": "Action.Execute", "verb": verb, "data": {"verb": verb, **data}}}
    a["replyToId"] = reply_to
    return a


def accept(ref: str, *, reply_to: str, service_url: str, user: str = "sam") -> dict[str, Any]:
    """Someone in the SLT channel presses Accept on a session's "Second adult needed" card."""
    return execute(
        "second.accept",
        {"ref": ref},
        reply_to=reply_to,
        service_url=service_url,
        user=user,
        scope="channel",
        channel=SLT,
    )


def installation(
    *, service_url: str, user: str = "ivy", scope: str = "channel", channel: str | None = None
) -> dict[str, Any]:
    return _shape(f"installationUpdate__{scope}", service_url=service_url, user=user, scope=scope, channel=channel)
