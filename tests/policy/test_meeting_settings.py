"""Meeting settings from each profile: valid Graph onlineMeeting bodies with the protocol's choices."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bot.policy.booking import Booking
from bot.policy.loader import bundled
from bot.policy.meeting import explain_settings, meeting_settings
from tests.policy.helpers import base

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "data/schemas/graph/strict/microsoft.graph.onlineMeeting.json").read_text()
)

EXPECTED = {
    "000-two-staff": {
        "allowMeetingChat": "disabled",
        "allowRecording": False,
        "recordAutomatically": False,
        "allowAttendeeToEnableMic": True,
    },
    "001-recorded": {
        "allowMeetingChat": "disabled",
        "allowRecording": True,
        "recordAutomatically": True,
        "allowAttendeeToEnableMic": False,
    },
    "002-lobby-two-staff": {
        "allowMeetingChat": "disabled",
        "allowRecording": False,
        "recordAutomatically": False,
        "allowAttendeeToEnableMic": False,
    },
    "003-crossways": {
        "allowMeetingChat": "disabled",
        "allowRecording": False,
        "recordAutomatically": False,
        "allowAttendeeToEnableMic": True,
    },
    "004-tces": {
        "allowMeetingChat": "disabled",
        "allowRecording": False,
        "recordAutomatically": False,
        "allowAttendeeToEnableMic": True,
    },
}


@pytest.mark.parametrize("pid", sorted(EXPECTED))
def test_settings_are_a_valid_strict_graph_body(pid: str) -> None:
    body = meeting_settings(bundled(pid), Booking.model_validate(base()))
    Draft202012Validator(SCHEMA).validate(body)
    for key, value in EXPECTED[pid].items():
        assert body[key] == value, key
    assert body["lobbyBypassSettings"] == {"scope": "organizer", "isDialInBypassEnabled": False}
    assert body["allowedPresenters"] == "organizer"
    assert body["allowParticipantsToChangeName"] is False and body["isEntryExitAnnounced"] is True


def test_chat_for_learning_is_limited_to_the_meeting() -> None:
    booking = Booking.model_validate({**base(), "chat": True})
    assert meeting_settings(bundled("004-tces"), booking)["allowMeetingChat"] == "limited"
    assert meeting_settings(bundled("003-crossways"), booking)["allowMeetingChat"] == "limited"


def test_recording_by_slt_approval_only_once_approved() -> None:
    booking = Booking.model_validate({**base(), "recording": True})
    assert meeting_settings(bundled("004-tces"), booking)["allowRecording"] is False
    assert meeting_settings(bundled("004-tces"), booking, recording_approved=True)["allowRecording"] is True


def test_each_setting_names_the_rule_that_set_it() -> None:
    sources = {name: src for name, _, src in explain_settings(bundled("001-recorded"))}
    assert sources["recordAutomatically"] == "001.record-all"
    assert sources["allowAttendeeToEnableMic"] == "001.mute-on-entry"
    assert sources["isEntryExitAnnounced"] == "chaperone default"


ENUMS = {
    "lobbyBypassSettings": "microsoft.graph.lobbyBypassScope",
    "allowedLobbyAdmitters": "microsoft.graph.allowedLobbyAdmitterRoles",
    "allowedPresenters": "microsoft.graph.onlineMeetingPresenters",
    "allowMeetingChat": "microsoft.graph.meetingChatMode",
}
CAMEL = re.compile(r"[a-z][A-Z]")


def test_every_setting_and_value_chaperone_can_set_has_plain_words() -> None:
    from bot.policy.meeting import setting_in_words

    for name, value, _ in explain_settings(bundled("000-two-staff")):
        values = (
            [v for v in SCHEMA["$defs"][ENUMS[name]]["enum"] if v != "unknownFutureValue"]
            if name in ENUMS
            else [True, False]
        )
        for v in values:
            shown = {"scope": v, "isDialInBypassEnabled": False} if isinstance(value, dict) else v
            for sentence in setting_in_words(name, shown):
                assert not sentence.startswith("Teams option"), (name, v)
                assert not CAMEL.search(sentence), sentence


def test_settings_read_as_a_teacher_would_say_them() -> None:
    from bot.policy.meeting import explain_in_words, settings_in_words

    body = meeting_settings(bundled("002-lobby-two-staff"), Booking.model_validate(base()))
    words = settings_in_words(body)
    for sentence in (
        "Only you can let people in from the lobby",
        "Pupils cannot unmute until you allow it",
        "Meeting chat is off",
        "Nobody can record the meeting",
    ):
        assert sentence in words
    assert not any(CAMEL.search(w) for w in words)
    assert ("Pupils cannot unmute until you allow it", "002.mute-on-entry") in explain_in_words(
        bundled("002-lobby-two-staff")
    )


def test_a_setting_chaperone_has_no_words_for_is_still_shown() -> None:
    from bot.policy.meeting import settings_in_words

    assert settings_in_words({"allowWhiteboard": True}) == ["Teams option allowWhiteboard: true"]
