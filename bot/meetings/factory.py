"""Choose the meeting provider from the settings (CHAPERONE_MEETINGS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.meetings.local import LocalMeetings
from bot.meetings.provider import MeetingProvider
from bot.store.base import Store
from bot.texts import setup as setup_texts

if TYPE_CHECKING:
    from bot.config import Settings


def meetings_for(settings: Settings, store: Store) -> MeetingProvider:
    if settings.meetings == "local":
        return LocalMeetings(store)
    try:
        from bot.meetings.graph import GraphMeetings
    except ImportError as exc:  # pragma: no cover - the Graph provider ships with the package
        raise ConfigError(setup_texts.GRAPH_NOT_LOADED) from exc
    return GraphMeetings.from_environment(settings.graph_base_url, dict(settings.graph_env) or None)
