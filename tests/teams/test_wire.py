"""The fast activity serializer gives the same JSON as msrest's for what Chaperone sends."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters

from bot.chat import Where
from bot.teams.adapter import wire
from bot.teams.translate import card_activity, reference_doc, reference_of

CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Hello", "wrap": True}],
    "actions": [{"type": "Action.Execute", "verb": "x", "data": {"ref": "S-1"}}],
}
WHERE = Where(
    "channel",
    "19:c@thread.tacv2;messageid=1",
    tenant_id="t-1",
    team_id="19:team",
    channel_id="19:c@thread.tacv2",
    service_url="https://smba.example.org/emea/",
)


def samples() -> list[Any]:
    doc = reference_doc(WHERE, bot_id="28:bot", user_id="29:user")
    reply = TurnContext.apply_conversation_reference(card_activity(CARD), reference_of(doc))
    update = TurnContext.apply_conversation_reference(card_activity(CARD, activity_id="1234"), reference_of(doc))
    params = ConversationParameters(
        is_group=True,
        bot=ChannelAccount(id="28:bot"),
        channel_data={"channel": {"id": "19:c"}, "tenant": {"id": "t-1"}},
        activity=card_activity(CARD),
        tenant_id="t-1",
    )
    personal = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:bot"),
        members=[ChannelAccount(id="29:user")],
        channel_data={"tenant": {"id": "t-1"}},
        tenant_id="t-1",
    )
    return [reply, update, params, personal, Activity(type="message", text="plain", reply_to_id="9")]


@pytest.mark.parametrize("model", samples())
def test_wire_matches_msrest(model: Any) -> None:
    assert wire(model) == model.serialize()
