"""Every sentence the rules engine says to a teacher, in one place (for review and translation)."""

from __future__ import annotations

from collections.abc import Sequence

MESSAGES: dict[str, str] = {
    "past": "This session would start in the past ({start}). Choose a time from now on.",
    "notice": "Sessions need at least {need} notice; this one starts in {have}. Choose a later start.",
    "day": "Sessions can only run on {days}; {date} is a {day}. Choose one of those days.",
    "hours": "Sessions must run between {start} and {end} ({tz} time); this one runs {from_}–{to}. Choose a start and length inside those hours.",
    "duration": "Sessions can last at most {max} minutes; this one is {minutes}. Shorten it to {max} minutes or less.",
    "one_to_one_forbidden": "1:1 sessions are not allowed under your school's protocol. Book a group session instead.",
    "one_to_one_reason": "1:1 sessions are only for {reasons}; this one is for {reason}. If the session is for {reasons}, choose that reason; otherwise book a group session.",
    "group_min": "A group session needs at least {min} pupils; this one has {n}. Add pupils, or book a 1:1 if your protocol allows it.",
    "group_max": "A group session can have at most {max} pupils; this one has {n}. Remove pupils or split them over two sessions.",
    "second_adult_role": "The second adult must be {who}; {name} is listed as {role}. Choose {who} as the second adult, or leave the second adult empty.",
    "second_adult_not_slt": "{name} is not on the school's SLT list, so cannot be the SLT second adult. Choose a member of SLT, or ask your admin to add {name} to the SLT list.",
    "second_adult_self": "The second adult must be someone other than you. Choose a colleague, or leave the second adult empty.",
    "second_adult_account": "{name} must use a school account ({domains}), not {email}. Enter their school email address.",
    "consent_none": "{pupil} has no parental consent on record. Ask the school office to record the parent's consent first.",
    "consent_implied": "{pupil}'s consent is only implied; your protocol needs signed consent. Ask the school office to record the signed consent first.",
    "staff_account": "Sessions must be set up from a school account ({domains}); {email} is not one. Sign in to Teams with your school account and book again.",
    "invite_parent_missing": "{pupil} has no parent email: the invitation goes to the parent, never the child. Ask the school office to add the parent's email to the consent record.",
    "invite_parent_is_pupil": "{pupil}'s parent email {email} is a pupil account: the invitation must go to the parent. Ask the school office to record the parent's own email.",
    "invite_school_missing": "{pupil} has no school email account ({domains}) to invite. Ask the school office to add {pupil}'s school email to the consent record.",
    "invite_school_domain": "{pupil}'s school email {email} is not a pupil school account ({domains}). Ask the school office to correct it.",
    "recording_forbidden": "Sessions must not be recorded under your school's protocol. Turn recording off.",
    "recording_required": "Sessions must be recorded under your school's protocol; recording cannot be turned off. Leave recording on.",
    "recording_unset": "Your school's protocol does not provide for recording, so Chaperone will not record. Turn recording off.",
    "chat_forbidden": "Meeting chat must be off under your school's protocol. Turn meeting chat off.",
    # requirements
    "req_second_adult": "A second adult is needed: {who}. Chaperone will ask SLT.",
    "req_parent_joins_first": "{name} supervises as a parent on another device and must join before the child.",
    "req_consent_pending": "{pupil}'s consent is implied until digital consent is recorded.",
    "req_copy_slt": "SLT are copied on the invitation with the date and time.",
    "req_recording_approval": "Recording needs SLT approval before the session; until then the meeting is not recorded.",
    "req_recording_automatic": "The session will be recorded automatically.",
    "req_quiet_hours": "It is quiet hours ({start}–{end}): invitations to families wait until {end}.",
}

CONCERN_ROLE_NAMES = {
    "dsl": "the DSL",
    "dsl_deputy": "the deputy DSLs",
    "head": "the headteacher",
    "chair": "the chair of governors",
}
CONCERN_CASES = {
    "child": "A concern about a child or family",
    "staff": "A concern about a member of staff",
    "head": "A concern about the headteacher",
    "dsl": "A concern about the DSL",
}

ROLE_NAMES = {"slt": "a member of SLT", "staff": "a member of staff", "parent": "a parent on another device"}
BASELINE_FILE = "Chaperone baseline"
BASELINE = {
    "past": "A session can only be booked for a time that has not yet passed.",
    "recording": "Chaperone records a session only where the school's protocol provides for it.",
    "consent": "Chaperone books a pupil only with parental consent on record (signed, or implied where the protocol allows it).",
    # Keeping Children Safe in Education: concerns about a child go to the DSL; allegations about
    # staff go to the headteacher (the chair of governors when about the head), who tells the LADO.
    "concern_child": "A concern about a child goes without delay to the designated safeguarding lead (DSL) or a deputy (Keeping Children Safe in Education).",
    "concern_named": "A concern about the headteacher goes to the chair of governors, and a concern about the DSL bypasses the DSL (Keeping Children Safe in Education, Part 4).",
    "concern_adult": "A concern or allegation about a member of staff goes to the headteacher, or to the chair of governors when it is about the headteacher (Keeping Children Safe in Education, Part 4).",
}

#: Shown with every concern about an adult (the allegations procedure).
ALLEGATION_GUIDANCE = (
    "This is an allegation about an adult: it is handled under the school's allegations procedure, not by the safeguarding team. Do not investigate it or tell the adult concerned; write down what you saw and heard.",
    "The headteacher (or the chair of governors, when it is about the headteacher) tells the local authority designated officer (LADO) within one working day.",
)


def fmt(key: str, **values: object) -> str:
    return MESSAGES[key].format(**values)


def who(roles: tuple[str, ...] | list[str]) -> str:
    names = [ROLE_NAMES.get(str(getattr(r, "value", r)), str(r)) for r in roles]
    if not names:
        return "nobody"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


#: Each Teams meeting setting (Graph onlineMeeting name) and value, in words a teacher uses.
#: Booleans are keyed "true"/"false"; the lobby by its bypass scope.
SETTING_WORDS: dict[str, dict[str, str]] = {
    "lobbyBypassSettings": {
        "organizer": "Everyone but you waits in the lobby",
        "invited": "People you invited join directly; everyone else waits in the lobby",
        "organization": "People from your school join directly; everyone else waits in the lobby",
        "organizationExcludingGuests": "People from your school (not guests) join directly; everyone else waits in the lobby",
        "organizationAndFederated": "People from your school and trusted organisations join directly; everyone else waits in the lobby",
        "everyone": "Nobody waits in the lobby: everyone joins directly",
    },
    "isDialInBypassEnabled": {
        "true": "People phoning in skip the lobby",
        "false": "People phoning in wait in the lobby",
    },
    "allowedLobbyAdmitters": {
        "organizerAndCoOrganizers": "Only you can let people in from the lobby",
        "organizerAndCoOrganizersAndPresenters": "You and the presenters can let people in from the lobby",
    },
    "allowedPresenters": {
        "organizer": "Only you can present",
        "roleIsPresenter": "Only the people you make presenters can present",
        "organization": "Anyone from your school can present",
        "everyone": "Everyone can present",
    },
    "allowMeetingChat": {
        "disabled": "Meeting chat is off",
        "limited": "Meeting chat is on during the meeting only",
        "enabled": "Meeting chat is on, before, during and after the meeting",
    },
    "allowRecording": {"true": "The meeting can be recorded", "false": "Nobody can record the meeting"},
    "recordAutomatically": {
        "true": "Recording starts automatically when the meeting starts",
        "false": "Recording does not start by itself",
    },
    "allowTranscription": {"true": "The meeting can be transcribed", "false": "Nobody can transcribe the meeting"},
    "allowAttendeeToEnableCamera": {
        "true": "Pupils can turn their cameras on",
        "false": "Pupils cannot turn their cameras on until you allow it",
    },
    "allowAttendeeToEnableMic": {
        "true": "Pupils can unmute themselves",
        "false": "Pupils cannot unmute until you allow it",
    },
    "allowParticipantsToChangeName": {
        "true": "People can change the name they show in the meeting",
        "false": "Nobody can change the name they show in the meeting",
    },
    "isEntryExitAnnounced": {
        "true": "Teams announces when someone joins or leaves",
        "false": "Teams does not announce who joins or leaves",
    },
}
#: For a setting or value Chaperone has no words for (a newer Teams option).
SETTING_UNKNOWN = "Teams option {name}: {value}"


def school_hours(days: str, start: str, end: str) -> str:
    """The sentence quoted from the school config's hours (a rule whose source is the config file)."""
    return f"School hours: {days} {start}–{end}."


# What pydantic validation says about a profile or booking (shown by `chaperone policy check`).

INVALID_ONE_TO_ONE = "a 1:1 session has exactly one pupil; choose 'group' for more"
INVALID_PUPIL_TWICE = "a pupil is listed twice"
INVALID_HOURS_ORDER = "end must be after start"
INVALID_CONSENT_NONE = "'none' cannot be an accepted consent state"
INVALID_ROUTE_TWICE = "more than one concern_route rule for the same 'about'"


def invalid_time_zone(value: str) -> str:
    return f"unknown time zone {value!r}"


def invalid_duplicate_ids(ids: Sequence[str]) -> str:
    return f"duplicate rule id(s): {', '.join(ids)}"


def invalid_kinds_twice(kinds: Sequence[str]) -> str:
    return f"rule kind(s) given more than once: {', '.join(kinds)}"
