"""Sentences the bot says outside the card templates and the rules engine (one place to review and translate)."""

STATE_LABELS = {
    "awaiting_second_adult": "waiting for a second adult",
    "confirmed": "confirmed: creating the meeting",
    "scheduled": "scheduled",
    "ended": "ended",
    "cancelled": "cancelled",
}
STATE_COLORS = {
    "awaiting_second_adult": "Warning",
    "confirmed": "Accent",
    "scheduled": "Good",
    "ended": "Default",
    "cancelled": "Attention",
}
STATUS_TEXT = {
    "awaiting_second_adult": "Your booking follows the protocol. SLT have been asked for a second adult; no link is sent to families until one accepts.",
    "awaiting_second_adult_no_slt": "Your booking follows the protocol, but no SLT channel is set up, so SLT can only see the request with /join-as-second. Ask your Chaperone admin to type /setup slt in the SLT channel.",
    "confirmed": "Everything the protocol needs is in place. Chaperone is creating the Teams meeting and inviting the families.",
    "scheduled": "The meeting is ready and the invitations have gone out.",
    "scheduled_local": "Local trial: no real meeting or invitation was created (no Microsoft 365 tenant is configured).",
    "ended": "This session is closed in the register.",
    "cancelled": "This session was cancelled; families were told.",
}
SETTING_LABELS = {
    "lobbyBypassSettings": "Who skips the lobby",
    "allowedLobbyAdmitters": "Who admits from the lobby",
    "allowedPresenters": "Who presents",
    "allowMeetingChat": "Meeting chat",
    "allowRecording": "Recording allowed",
    "recordAutomatically": "Records automatically",
    "allowTranscription": "Transcription",
    "allowAttendeeToEnableCamera": "Attendees may turn cameras on",
    "allowAttendeeToEnableMic": "Attendees may unmute",
    "allowParticipantsToChangeName": "Attendees may change their name",
    "isEntryExitAnnounced": "Joining and leaving announced",
}
TYPE_LABELS = {"group": "Group", "one_to_one": "1:1"}

HELP_SUMMARIES = {
    "help": "what you can do here",
    "book": "book a session with pupils (checked against your school's protocol)",
    "join-as-second": "see second-adult requests you can take, or accept one: /join-as-second S-XXXXXX",
    "setup": "admins: /setup safeguarding or /setup slt in the channel to use",
    "end": "close a session in the register: /end S-XXXXXX",
    "concern": "raise a safeguarding concern with the DSL",
    "today": "SLT and DSL: every session booked for today, with its state",
}

UNKNOWN_COMMAND = "I don't know \u201c{name}\u201d. Here is what you can do:"
BOOK_SENT_PRIVATELY = "I've sent the booking form to our personal chat, so pupils' details stay out of this conversation."
NO_EMAIL = "Chaperone could not read your school email address from Teams."
NO_EMAIL_HINT = "Try again in a minute; if it keeps happening, tell your IT team."
SETUP_DONE = "This channel is now Chaperone's {what} channel."
SETUP_WHAT = {"safeguarding": "safeguarding (the register and concern alerts)", "slt": "SLT (second-adult requests)"}
SETUP_NOT_CHANNEL = "Type /setup in the channel you want to use (a standard channel of a team where Chaperone is installed)."
SETUP_USAGE = "Say which channel this is: /setup safeguarding or /setup slt."
ALREADY_COVERED = "Session {ref} is already covered by {name}. Thank you for offering."
NOT_ELIGIBLE = "Session {ref} needs {who}; your role in the school config does not qualify."
OWN_SESSION = "You are the organiser of {ref}; the second adult must be someone else."
NOT_WAITING = "Session {ref} is no longer waiting for a second adult ({state})."
ACCEPTED = "You are the second adult for {ref}. The organiser has been told and the meeting is being created."
NO_OPEN_REQUESTS = "No sessions are waiting for a second adult you could be."
OPEN_REQUESTS_TITLE = "Sessions waiting for a second adult"
LOCAL_JOIN = "Open the local test link (not a real meeting)"
JOIN = "Join the Teams meeting"
CANCELLED = "Session {ref} is cancelled."
CANCEL_NOT_YOURS = "Only the organiser or SLT can cancel {ref}."

END_LIST_TITLE = "Your sessions today"
END_NONE_TODAY = "You have no scheduled sessions today. To close another, type /end S-XXXXXX."
END_NOT_YOURS = "Only the organiser or the second adult of {ref} can close it."
END_NOT_SCHEDULED = "Session {ref} is {state}; only a scheduled session can be closed with /end."
END_DONE = "Session {ref} is closed in the register."
END_NOT_STARTED = "Session {ref} has not started yet, so there is no attendance to record."
END_NOT_STARTED_HINT = "Close it after it has started, choose 'It did not take place', or cancel it from its card."
OUTCOME_DID_NOT_TAKE_PLACE = "Did not take place (no attendance recorded)"
MEETING_NOT_YET = "The Teams meeting could not be created yet; Chaperone will try again."
CARD_UPDATE_FAILED = "Teams did not accept a card update; Chaperone will try again."
DRIFT_TITLE = "Meeting settings put back"
UNDELIVERED_TITLE = "A card could not be posted"
UNDELIVERED_TO_SLT = "Chaperone could not post a card for session {ref} (organiser {organiser}) to a channel; it keeps trying. Check the channel set-up (/setup)."
UNDELIVERED_TO_TEACHER = "Chaperone has not yet been able to post this session's card to the safeguarding or SLT channel; it keeps trying and SLT has been told."
CONCERN_UNDELIVERED_TITLE = "A concern alert could not be posted"
CONCERN_UNDELIVERED = "Chaperone could not post the alert for concern {ref} to the safeguarding channel; it keeps trying. The concern is stored: a DSL can open it with its reference."
END_EARLY_NEEDS_REASON = "You chose 'Ended early': say why, so the register and the DSL know."
END_TIMES = "The actual end must be after the actual start."
END_CONCERN_NEXT = "Because the session ended for a {reason}, the concern form below is ready with the session and pupils filled in."
EARLY_REASON_LABELS = {
    "behaviour": "behaviour",
    "inappropriate_content": "inappropriate content",
    "security_breach": "security breach",
    "safeguarding": "safeguarding concern",
    "technical": "technical problem",
}
CONCERN_REASONS = ("safeguarding", "security_breach")

EMERGENCY = "If a child is at immediate risk of harm, follow the school's emergency procedure now and call 999. Teams and Chaperone are not a replacement for emergency services."
CONCERN_ALERTED = "The DSL has been alerted in the safeguarding channel (reference only; the details stay private)."
CONCERN_ALERT_PENDING = "The safeguarding channel could not be reached just now; Chaperone will keep trying to alert the DSL. If it is urgent, phone the DSL."
CONCERN_NEEDS_PUPIL = "Say which pupil the concern is about."
CONCERN_BAD_WHEN = "The date or time is not valid."
CONCERN_NOT_DSL = "Only the DSL and deputies can see or acknowledge concerns. Your attempt has been recorded."
CONCERN_ACKED = "Acknowledged by {name} at {time}."
CONCERN_SENT = "The full record of {ref} is in your personal chat with Chaperone."
URGENT = "IMMEDIATE RISK: a child may be in danger now."
NOT_URGENT = "Not marked as immediate risk."

VERIFIED_OK = "Chaperone re-read the meeting's settings just now: they are as your protocol requires."
VERIFIED_REPAIRED = "{n} meeting setting(s) had been changed and were put back: {fields}. SLT have been told."
DRIFT_TO_SLT = "The Teams meeting settings of {ref} (organiser {organiser}) had been changed: {fields}. Chaperone put them back to what the protocol requires."
CHECKLIST_TITLES = {"before": "Before the session", "during": "During the session", "after": "After the session"}

REMINDER_TITLE = "Reminder: a second adult is still needed"
REMINDER_HEADLINE = REMINDER_TITLE + ". {organiser} is waiting."
GAVE_UP = "No second adult accepted in time, so session {ref} cannot go ahead and has been cancelled. No link was sent to families."

TODAY_TITLE = "Today's sessions ({date})"
TODAY_NONE = "No sessions are booked for today."

NOT_OPEN = "Session {ref} is already {state}."
CANCEL_COMMENT = "This session ({ref}) has been cancelled by the school. We are sorry for any inconvenience."
HELD_FOR_QUIET_HOURS = "Everything is in place. Your protocol allows no messages to families now, so the meeting and invitations will be created at {until}."
CONCERN_NOT_ACKNOWLEDGED = "Not yet acknowledged after {minutes} minutes. A DSL or deputy, please acknowledge."
RECORDING_ASKED = "{organiser} asks to record this session. The meeting is not recorded unless SLT approve."
RECORDING_APPROVED = "Recording approved by {name}."
RECORDING_DECLINED = "Recording declined by {name}: the session will not be recorded."
RECORDING_ALREADY = "Recording for {ref} was already decided: {decision}."
RECORDING_NOT_ASKED = "Session {ref} has no recording request."

# errors from commands and cards
FORM_FLAG = 'The form sent {value!r} where yes or no was expected.'
FORM_FIX_HINT = "Correct the form and press 'Check and book' again; what you entered is still there."
BOOKING_INCOMPLETE = 'The booking is not complete: {msgs}.'
CARD_NO_SESSION = 'This card does not say which session it is for.'
END_FORM_INCOMPLETE = 'The end form is incomplete; open it again with /end.'
END_FORM_INCOMPLETE_HINT = 'Type /end and choose the session again.'
END_CHOOSE_OUTCOME = 'Choose an outcome: completed or ended early (or press "It did not take place").'
END_CHOOSE_REASON = 'Choose one of the listed reasons for ending early.'
END_TIMES_FORMAT = 'Enter the actual start and end as HH:MM.'
CARD_OUT_OF_DATE = 'This card is out of date or was not made by Chaperone.'
CARD_OUT_OF_DATE_HINT = 'Type /help to start again.'
BUTTON_NOT_YOURS = 'You cannot use this button.'
UNEXPECTED = 'Something went wrong on our side; nothing you entered was lost.'
UNEXPECTED_HINT = 'If it happens again, give your IT team this reference: {ref}.'
CONCERN_CHOOSE_CATEGORY = 'Choose one of the listed categories.'
CONCERN_COMPLETE = 'Please complete: {fields}.'
CONCERN_NOT_SENT_HINT = 'Nothing was sent yet; your text is still in the form.'
RECORDING_SLT_ONLY = 'Only SLT can approve or decline recording.'
COMMAND_ROLE = '/{name} is for {roles} only.'
NO_RECORD = "There is no {noun} {ref}."
RECORD_BUSY = "{noun} {ref} is busy; please try again."
REF_EXHAUSTED = "Could not allocate a {noun} reference; please try again."


# Microsoft Graph failures, by GraphError.reason (sessions store the code, never the sentence).
GRAPH_FAILURES = {
    "timeout": "Microsoft Teams did not answer in time.",
    "unreachable": "Chaperone could not reach Microsoft Teams.",
    "no_event": "Microsoft Teams created no calendar event.",
    "no_meeting_yet": "Microsoft Teams has not made the meeting for this event yet.",
    "meeting_unreadable": "The Teams meeting could not be read.",
    "forbidden": "Microsoft Teams refused Chaperone access to this teacher's meetings.",
    "unknown_organiser": "Microsoft 365 does not know this organiser or meeting; check the teacher's school account.",
    "busy": "Microsoft Teams is busy; Chaperone will try again.",
    "refused": "Microsoft Teams refused the request.",
    "unknown": "The meeting could not be created.",
}
GRAPH_HINTS = {
    "forbidden": "Your school's Teams admin must run the setup in infra/ (an application access policy for Chaperone); it can take 30 minutes to apply.",
    "unknown_organiser": "Ask IT to check the teacher's account is licensed for Teams and in the group the application access policy covers.",
}
MEETING_RETRYING = "Microsoft Teams did not answer in time. Your booking is safe; Chaperone will keep trying and update this card."
MEETING_FAILED = "The meeting could not be created: {error}"


def meeting_problem(code: str, *, until: str, error: str | None, ref: str) -> str:
    """The status sentence for a session's stored MeetingProblem code."""
    if code == "quiet_hours":
        return HELD_FOR_QUIET_HOURS.format(until=until)
    if code == "retrying":
        return MEETING_RETRYING
    if code == "no_second_adult":
        return GAVE_UP.format(ref=ref)
    reason = error or "unknown"
    detail = " ".join(x for x in (GRAPH_FAILURES.get(reason, GRAPH_FAILURES["unknown"]), GRAPH_HINTS.get(reason, "")) if x)
    return MEETING_FAILED.format(error=detail)
