"""The Teams meeting options a session must have, from its profile (Graph onlineMeeting names)."""

from __future__ import annotations

from typing import Any

from bot.policy import model as m
from bot.policy.booking import Booking

DEFAULT = "chaperone default"


def explain_settings(profile: m.Profile, booking: Booking | None = None, *, recording_approved: bool = False) -> list[tuple[str, Any, str]]:
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

    def src(rule: m.LobbyRule | m.PresentersRule | m.ChatRule | m.RecordingRule | m.MicrophoneRule | m.CameraRule | None) -> str:
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
        ("lobbyBypassSettings", {"scope": lobby.bypass if lobby else "organizer", "isDialInBypassEnabled": False}, src(lobby)),
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


def meeting_settings(profile: m.Profile, booking: Booking | None = None, *, recording_approved: bool = False) -> dict[str, Any]:
    """The onlineMeeting PATCH body the session must have."""
    return {name: value for name, value, _ in explain_settings(profile, booking, recording_approved=recording_approved)}
