"""Translation between Teams activities and Chaperone's neutral types."""

from __future__ import annotations

from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference

from bot import texts
from bot.chat import CardAction, Command, ConversationKind, Where, parse_command, sendable

INVOKE_CARD_ACTION = "adaptiveCard/action"


def tenant_of(activity: Activity) -> str | None:
    """From channelData: ``conversation.tenant_id`` is always None from Teams (JSON key mismatch)."""
    data = activity.channel_data or {}
    tenant = data.get("tenant") if isinstance(data, dict) else None
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    return getattr(activity.conversation, "tenant_id", None) if activity.conversation else None


def where_of(activity: Activity) -> Where:
    conv = activity.conversation or ConversationAccount(id="")
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = (data.get("team") or {}).get("id") if isinstance(data.get("team"), dict) else data.get("teamsTeamId")
    channel = (
        (data.get("channel") or {}).get("id") if isinstance(data.get("channel"), dict) else data.get("teamsChannelId")
    )
    kind: ConversationKind
    raw = (conv.conversation_type or "").lower()
    if raw == "channel" or (channel and raw != "personal" and raw != "groupchat"):
        kind = "channel"
    elif raw == "groupchat" or (conv.is_group and raw != "personal"):
        kind = "groupChat"
    else:
        kind = "personal"
    return Where(
        kind=kind,
        conversation_id=conv.id or "",
        tenant_id=tenant_of(activity),
        team_id=team,
        channel_id=channel,
        service_url=activity.service_url,
    )


def input_of(activity: Activity) -> Command | CardAction | None:
    """A typed command, an Action.Submit, an Action.Execute, or None (nothing for us)."""
    if activity.type == "invoke" and activity.name == INVOKE_CARD_ACTION:
        value = _obj(activity.value)
        action = _obj(value.get("action"))
        data = _obj(action.get("data"))
        return CardAction(
            verb=str(action.get("verb") or data.get("verb") or ""),
            data=dict(data),
            kind="execute",
            card_activity_id=activity.reply_to_id,
            activity_id=activity.id,
        )
    if activity.type == "message":
        if activity.value is not None and not (activity.text or "").strip():
            data = activity.value if isinstance(activity.value, dict) else {}
            return CardAction(
                verb=str(data.get("verb") or ""),
                data=dict(data),
                kind="submit",
                card_activity_id=activity.reply_to_id,
                activity_id=activity.id,
            )
        return parse_command(activity.text)
    return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def card_activity(card: dict[str, Any], *, activity_id: str | None = None) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(sendable(card)))
    if activity_id:
        activity.id = activity_id
    return activity


def invoke_body(card: dict[str, Any] | None) -> dict[str, Any]:
    """The Universal Actions answer: the card that replaces the clicked one, or a short message."""
    if card is None:
        return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": texts.INVOKE_DONE}
    return {"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": sendable(card)}


def invoke_message(text: str) -> dict[str, Any]:
    """A Universal Actions answer that leaves the clicked card as it is and shows a short message."""
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}


def reference_doc(where: Where, *, bot_id: str | None, user_id: str | None = None) -> dict[str, Any]:
    """What we store to reach a conversation later: ids and URLs only, no names."""
    conversation_id = where.channel_id if where.kind == "channel" and where.channel_id else where.conversation_id
    return {
        "service_url": where.service_url,
        "conversation_id": conversation_id,
        "kind": where.kind,
        "tenant_id": where.tenant_id,
        "team_id": where.team_id,
        "channel_id": where.channel_id,
        "bot_id": bot_id,
        "user_id": user_id,
    }


def reference_of(doc: dict[str, Any]) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url=doc["service_url"],
        conversation=ConversationAccount(
            id=doc["conversation_id"],
            is_group=doc.get("kind") != "personal",
            conversation_type=doc.get("kind"),
            tenant_id=doc.get("tenant_id"),
        ),
        bot=ChannelAccount(id=doc.get("bot_id")) if doc.get("bot_id") else None,
        user=ChannelAccount(id=doc["user_id"]) if doc.get("user_id") else None,
    )
