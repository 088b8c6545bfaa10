"""The Teams meeting options a session must have, from its profile (Graph onlineMeeting names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.policy import model as m
from bot.policy.booking import Booking
from bot.texts.policy import SETTING_UNKNOWN, SETTING_WORDS

DEFAULT = "chaperone default"


def explain_settings(
    profile: m.Profile, booking: Booking | None = None, *, recording_approved: bool = False
) -> list[tuple[str, Any, str]]:
    """Each onlineMeeting field with its value and the rule id that set it (or 'chaperone default').

    Chaperone's defaults are the safe side of every option: lobby for everyone but the organiser,
    only the organiser presents and admits, no chat, no recording or transcription, names locked,
    entry and exit announced (keeps the register honest).
    """

    lobby = profile.rule(m.LobbyRule)
    presenters = profile.rule(m.PresentersRule)
    chat = profile.rule(m.ChatRule)
    rec = profile.rule(m.RecordingRule)
    mic = profile.rule(m.MicrophoneRule)
    cam = profile.rule(m.CameraRule)

    def src(
        rule: m.LobbyRule | m.PresentersRule | m.ChatRule | m.RecordingRule | m.MicrophoneRule | m.CameraRule | None,
    ) -> str:
        return rule.id if rule is not None else DEFAULT

    chat_asked = bool(booking and booking.chat)
    chat_mode = "limited" if chat_asked and (chat is None or chat.mode == "during_session") else "disabled"
    if rec is None or rec.mode == "forbidden":
        allow_rec = False
    elif rec.mode == "automatic":
        allow_rec = True
    else:
        allow_rec = bool(booking and booking.recording and recording_approved)
    return [
        (
            "lobbyBypassSettings",
            {"scope": lobby.bypass if lobby else "organizer", "isDialInBypassEnabled": False},
            src(lobby),
        ),
        ("allowedLobbyAdmitters", lobby.admitters if lobby else "organizerAndCoOrganizers", src(lobby)),
        ("allowedPresenters", presenters.who if presenters else "organizer", src(presenters)),
        ("allowMeetingChat", chat_mode, src(chat)),
        ("allowRecording", allow_rec, src(rec)),
        ("recordAutomatically", bool(rec and rec.mode == "automatic"), src(rec)),
        ("allowTranscription", False, DEFAULT),
        ("allowAttendeeToEnableCamera", cam.attendees_may_enable if cam else True, src(cam)),
        ("allowAttendeeToEnableMic", mic.attendees_may_unmute if mic else True, src(mic)),
        ("allowParticipantsToChangeName", False, DEFAULT),
        ("isEntryExitAnnounced", True, DEFAULT),
    ]


def _value_key(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def setting_in_words(name: str, value: Any) -> list[str]:
    """One meeting setting (Graph name and value) as the sentence(s) a teacher reads."""
    if name == "lobbyBypassSettings" and isinstance(value, dict):
        out = setting_in_words(name, value.get("scope"))
        if "isDialInBypassEnabled" in value:
            out += setting_in_words("isDialInBypassEnabled", value["isDialInBypassEnabled"])
        return out
    words = SETTING_WORDS.get(name, {}).get(_value_key(value))
    return [words] if words else [SETTING_UNKNOWN.format(name=name, value=_value_key(value))]


def settings_in_words(settings: Mapping[str, Any]) -> list[str]:
    """Meeting settings (an onlineMeeting body, or a session's stored settings) in a teacher's words."""
    return [sentence for name, value in settings.items() for sentence in setting_in_words(name, value)]


def explain_in_words(
    profile: m.Profile, booking: Booking | None = None, *, recording_approved: bool = False
) -> list[tuple[str, str]]:
    """Each setting the session will have, in words, with the rule id that set it (or 'chaperone default')."""
    return [
        (sentence, src)
        for name, value, src in explain_settings(profile, booking, recording_approved=recording_approved)
        for sentence in setting_in_words(name, value)
    ]


def meeting_settings(
    profile: m.Profile, booking: Booking | None = None, *, recording_approved: bool = False
) -> dict[str, Any]:
    """The onlineMeeting PATCH body the session must have."""
    return {name: value for name, value, _ in explain_settings(profile, booking, recording_approved=recording_approved)}
