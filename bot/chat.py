"""The bottom-layer vocabulary of a chat turn: who acted, where, what they asked, and the reply.

Nothing here imports anything else of Chaperone's except texts-free basics, and no botbuilder.

The transport turns each Teams activity into an :class:`Actor` plus either a :class:`Command`
(typed text such as ``/book`` or ``<at>Chaperone</at> join-as-second S-1234``) or a
:class:`CardAction` (an Action.Submit message or an Action.Execute invoke), calls
``Router.dispatch``, and turns the :class:`Reply` back into activities. Side effects elsewhere
(posting to a channel, updating a card in another conversation, a personal message to someone
else) go through the :class:`Messenger` port, which the transport implements.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict

Card = dict[str, Any]  # a rendered Adaptive Card (the JSON of the card itself, not the attachment)
ConversationKind = Literal["personal", "groupChat", "channel"]
Audience = Literal["private", "shared"]

#: Every template declares who may see its card: "shared" (reference, initials, category, times:
#: fit for a channel or group chat) or "private" (may name pupils or carry narrative: personal
#: chat only). The transport strips the key before sending; a card without it counts as private.
AUDIENCE_KEY: Final = "$audience"


def audience_of(card: Card) -> Audience:
    return "shared" if card.get(AUDIENCE_KEY) == "shared" else "private"


def sendable(card: Card) -> Card:
    """The card as Teams gets it: without Chaperone's audience marker."""
    return {k: v for k, v in card.items() if k != AUDIENCE_KEY}


def may_show(card: Card, kind: ConversationKind) -> bool:
    """The one rule of what leaves the bot: a private card only ever goes to a personal chat."""
    return kind == "personal" or audience_of(card) == "shared"


@dataclass(frozen=True)
class Where:
    """Where an activity came from."""

    kind: ConversationKind
    conversation_id: str
    tenant_id: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    service_url: str | None = None


@dataclass(frozen=True)
class Actor:
    """The person behind an activity, resolved through Teams (email and UPN from TeamsInfo)."""

    user_id: str  # Teams user id (29:...), what the connector knows them by
    aad_id: str | None
    name: str
    email: str | None
    upn: str | None
    where: Where
    roles: frozenset[str] = frozenset()  # filled by the router (bot.roles)
    #: The roster's userRole ("user", "guest", ...): a guest is never staff, whatever the domain.
    user_role: str | None = None
    #: Where each role came from: (role, "group" | "list" | "break-glass"), for the audit trail.
    role_sources: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Stable id for store records: the AAD object id where known."""
        return self.aad_id or self.user_id

    def has(self, role: str) -> bool:
        return role in self.roles

    def role_source(self, role: str) -> str:
        return dict(self.role_sources).get(role, "")


@dataclass(frozen=True)
class Command:
    name: str  # lower case, no slash: "book", "join-as-second"
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class CardAction:
    verb: str
    data: dict[str, Any]
    #: "submit": Action.Submit (a message with value); "execute": Action.Execute (an invoke).
    kind: Literal["submit", "execute"] = "submit"
    #: The id of the message holding the card that was clicked (replyToId), where known.
    card_activity_id: str | None = None
    #: This activity's own id (the same when Teams delivers it again).
    activity_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """What the user who acted sees.

    ``replace``: the card that replaces the clicked card (the invoke response for Action.Execute;
    an in-place update of the clicked message for Action.Submit). ``cards``: new messages in the
    same conversation. ``private``: cards for the actor's personal chat instead of here (used when
    something must not appear in a channel, e.g. /concern typed in a channel).
    """

    cards: tuple[Card, ...] = ()
    replace: Card | None = None
    private: tuple[Card, ...] = ()


def action_key(verb: str, actor: Actor, action: CardAction) -> str:
    """The idempotency key of a form submission: the form's token, else the clicked card, else the activity."""
    token = str(action.data.get("token") or "")
    if token:
        return f"{verb}:{actor.key}:{token}"
    if action.card_activity_id:
        return f"{verb}:{actor.where.conversation_id}:{action.card_activity_id}"
    return f"{verb}:{action.activity_id or uuid.uuid4().hex}"


class CardRef(BaseModel):
    """A card Chaperone posted: where (a stored conversation key) and its activity id. Stored on records."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    conversation_key: str
    activity_id: str


#: Stored conversation keys (see :meth:`Messenger.post`).
SAFEGUARDING_CHANNEL: Final = "channel:safeguarding"
SLT_CHANNEL: Final = "channel:slt"


def user_key(aad_id: str) -> str:
    """The key of a person's personal chat with the bot."""
    return f"user:{aad_id}"


def conversation_key(conversation_id: str) -> str:
    """The key of any conversation the bot has seen, as it was last seen."""
    return f"conv:{conversation_id}"


_MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)


def parse_command(text: str | None) -> Command | None:
    """``/book``, ``book`` and ``<at>Chaperone</at> /book S-12`` alike; None for empty text."""
    if not text:
        return None
    cleaned = _MENTION.sub(" ", text).replace("\u00a0", " ").strip()
    if not cleaned:
        return None
    words = cleaned.split()
    return Command(name=words[0].lstrip("/").lower(), args=tuple(words[1:]))


@dataclass(frozen=True)
class Mention:
    """Someone @mentioned by a post (a Teams mention entity): their Teams user id or AAD object id."""

    id: str
    name: str


@dataclass(frozen=True)
class Contact:
    """How to open a personal chat with someone who has not messaged the bot (learnt from the roster or a turn)."""

    aad_id: str
    user_id: str
    tenant_id: str | None
    service_url: str


class Messenger(Protocol):
    """Proactive messages: implemented by the transport, used by commands and background work."""

    async def post(self, conversation_key: str, card: Card) -> CardRef:
        """Post a new card to a stored conversation.

        Keys: ``channel:safeguarding`` and ``channel:slt`` (stored by /setup), ``user:<aad id>``
        (a user's personal chat, stored whenever they message the bot or install it), and
        ``conv:<conversation id>`` (every conversation the bot has seen, as it was last seen).
        Raises ``bot.errors.NotFound`` when no reference is stored under the key.
        """

    async def update(self, posted: CardRef, card: Card) -> None:
        """Replace a card we posted earlier, in place, for everyone who sees it."""

    async def post_mentioning(self, conversation_key: str, card: Card, mentions: tuple[Mention, ...]) -> CardRef:
        """Like :meth:`post`, with a line of @mentions (Teams mention entities) so those people are notified."""

    async def post_personal(self, aad_id: str, card: Card, *, contact: Contact | None = None) -> CardRef:
        """To a person's personal chat: the stored one, else a proactive 1:1 opened through ``contact``.
        Raises ``bot.errors.NotFound`` when neither is possible."""

    async def remember(self, conversation_key: str, where: Where, *, user_id: str | None = None) -> None:
        """Store a conversation reference under a key (from /setup, installation and messages)."""

    async def has(self, conversation_key: str) -> bool:
        """Whether a conversation reference is stored under this key."""
