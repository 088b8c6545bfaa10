"""The text catalogue: every sentence the bot says outside the card templates (one place to review and translate).

This module holds the sentences of chat and cards; the rules engine's are in ``policy``, the store's in
``store``, the admin's (configuration, profiles, consent file) in ``setup``, the errors' next steps in
``hints``, and ``meetings`` and ``concerns`` hold those built from data. The package imports nothing else
of Chaperone; tests/test_texts.py fails on an English sentence anywhere else in bot/.
"""

STATE_LABELS = {
    "awaiting_second_adult": "waiting for a second adult",
    "confirmed": "confirmed: creating the meeting",
    "scheduled": "scheduled",
    "ended": "ended",
    "cancelled": "cancelled",
}
#: Status is shown by a container style (a tinted band) and an icon, never by coloured text.
STATE_STYLES = {
    "awaiting_second_adult": "warning",
    "confirmed": "accent",
    "scheduled": "good",
    "ended": "emphasis",
    "cancelled": "attention",
}
STATE_ICONS = {
    "awaiting_second_adult": "\u23f3",
    "confirmed": "\u2699",
    "scheduled": "\u2713",
    "ended": "\u25a0",
    "cancelled": "\u2715",
}
STATUS_TEXT = {
    "awaiting_second_adult": "Your booking follows the protocol. SLT have been asked for a second adult; no link is sent to families until one accepts.",
    "awaiting_second_adult_no_slt": "Your booking follows the protocol, but no SLT channel is set up, so SLT can only see the request with /join-as-second. Ask your Chaperone admin to type /setup slt in the SLT channel.",
    "confirmed": "Everything the protocol needs is in place. Chaperone is creating the Teams meeting and inviting the families.",
    "scheduled": "The meeting is ready and the invitations have gone out.",
    "scheduled_local": "Local trial: no real meeting or invitation was created (no Microsoft 365 tenant is configured).",
    "ended": "This session is closed in the register.",
    "cancelled": "This session was cancelled. The families' invitations were withdrawn, so Teams told them.",
    "cancelled_no_invites": "This session was cancelled. No invitation had been sent, so no family was contacted.",
    "cancelled_local": "This session was cancelled. Local trial: no invitation had been sent to anyone.",
}
#: Meeting settings in a teacher's words, by Graph field and value ("*": any other value).
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
    "chronology": "DSL: a pupil's concerns and sessions, newest first: /chronology PUPIL",
}

UNKNOWN_COMMAND = "I don't know \u201c{name}\u201d. Here is what you can do:"
PRIVATE_CARD_REFUSED = "Chaperone kept this out of a shared conversation because it may name pupils."
SENT_PRIVATELY_TITLE = "Sent to your personal chat"
SENT_PRIVATELY = (
    "I've sent this to your personal chat with Chaperone, so pupils' details stay out of this conversation."
)
BOOK_SENT_PRIVATELY = (
    "I've sent the booking form to our personal chat, so pupils' details stay out of this conversation."
)
BOOK_TITLE = "Book a session"
BOOK_RECORDING_NOTE = " (needs SLT approval)"
BOOK_MISSING = "Missing: {fields}."
BOOK_BAD_WHEN = "The date or time is not valid (date as YYYY-MM-DD, time as HH:MM)."
BOOK_BAD_LENGTH = "The length must be a number of minutes."
BOOK_NOT_IN_REGISTRY = "{name} is not in the consent registry; add them under 'Other pupils' instead."
BOOK_OTHER_LINE = "Other pupils, line {n}: write it as 'name, parent email'."
BOOK_NO_PUPIL = "Choose at least one pupil."
NO_EMAIL = "Chaperone could not read your school email address from Teams."
NO_EMAIL_HINT = "Try again in a minute; if it keeps happening, tell your IT team."
SETUP_DONE = "This channel is now Chaperone's {what} channel."
SETUP_DONE_TITLE = "Chaperone is set up"
SETUP_WHAT = {"safeguarding": "safeguarding (the register and concern alerts)", "slt": "SLT (second-adult requests)"}
SETUP_NOT_CHANNEL = (
    "Type /setup in the channel you want to use (a standard channel of a team where Chaperone is installed)."
)
SETUP_USAGE = "Say which channel this is: /setup safeguarding or /setup slt."
ALREADY_COVERED = "Session {ref} is already covered by {name}. Thank you for offering."
NOT_ELIGIBLE = "Session {ref} needs {who}; your role in the school config does not qualify."
OWN_SESSION = "You are the organiser of {ref}; the second adult must be someone else."
NOT_WAITING = "Session {ref} is no longer waiting for a second adult ({state})."
ACCEPTED = "You are the second adult for {ref}. The organiser has been told and the meeting is being created."
ACCEPTED_TITLE = "Thank you"
NO_OPEN_REQUESTS = "No sessions are waiting for a second adult you could be."
REQUEST_HEADINGS = {
    "waiting": "Second adult needed",
    "covered": "Second adult found",
    "closed": "Second adult request closed",
}
REQUEST_WAITING = "{organiser} needs {who} to join this session. Nobody has accepted yet."
REQUEST_COVERED = "Covered by {name}. No one else is needed."
OPEN_REQUESTS_TITLE = "Sessions waiting for a second adult"
LOCAL_JOIN = "Open the local test link (not a real meeting)"
JOIN = "Join the Teams meeting"
CANCELLED = "Session {ref} is cancelled."
CANCEL_TELLS_ORGANISER = "{name}, who booked it, gets a message from Chaperone."
CANCEL_TELLS_SECOND = "{name}, the second adult, gets a message from Chaperone."
CANCEL_TELLS_SLT = "The request in the SLT channel shows it is cancelled."
CANCEL_TELLS_REGISTER = "The register in the safeguarding channel records the cancellation."
CANCEL_NO_FAMILIES = "No invitation has been sent yet, so no family is contacted."
CANCEL_LOCAL = "Local trial: no invitation was sent, so no family is contacted."
CANCEL_FAMILIES = "Families were invited: Teams sends them a cancellation."
TOLD_ACCEPTED_TITLE = "A second adult accepted"
TOLD_ACCEPTED = "{name} will be the second adult for {ref} ({when}). Chaperone is now creating the meeting."
TOLD_READY_TITLE = "Your meeting is ready"
TOLD_READY = "The Teams meeting for {ref} ({when}) is set up and the invitations have gone out."
TOLD_READY_LOCAL = "The meeting for {ref} ({when}) is ready. Local trial: no real meeting or invitation was created."
TOLD_MAY_GIVE_UP_TITLE = "Still no second adult"
TOLD_MAY_GIVE_UP = "Nobody has accepted {ref} yet; SLT have been reminded. If nobody accepts by {at}, Chaperone cancels the session (no family has been contacted)."
TOLD_CANCELLED_TITLE = "Session cancelled"
TOLD_CANCELLED = "Session {ref} ({when}) is cancelled."
TOLD_CHANGED_TITLE = "Session changed"
TOLD_CHANGED = "Session {ref} has changed: {what}"
CANCEL_NOT_YOURS = "Only the organiser or SLT can cancel {ref}."

END_LIST_TITLE = "Your sessions today"
END_NONE_TODAY = "You have no scheduled sessions today. To close another, type /end S-XXXXXX."
END_NOT_YOURS = "Only the organiser or the second adult of {ref} can close it."
END_NOT_SCHEDULED = "Session {ref} is {state}; only a scheduled session can be closed with /end."
END_DONE = "Session {ref} is closed in the register."
END_NOT_STARTED = "Session {ref} has not started yet, so there is no attendance to record."
END_NOT_STARTED_HINT = "Close it after it has started, choose 'It did not take place', or cancel it from its card."
OUTCOME_DID_NOT_TAKE_PLACE = "Did not take place (no attendance recorded)"
OUTCOME_COMPLETED = "Completed"
OUTCOME_ENDED_EARLY = "Ended early ({reason})"
ATTENDANCE_FACT = "{present} of {total} pupils; parent at start {at_start}, at end {at_end}"
ATTENDANCE_SECOND_ADULT = {True: "; second adult throughout: yes", False: "; second adult throughout: no"}
#: The register's attendance flags, by the code stored on the closure.
ATTENDANCE_FLAGS = {
    "second_adult_gap": "Second adult absent for part of the session",
    "pupil_without_staff": "A pupil or family member was in the meeting with no staff present",
}


def attendance_flags(codes: list[str]) -> str:
    """The register's attendance flags in words, one after another."""
    return "; ".join(ATTENDANCE_FLAGS.get(code, code) for code in codes)


SECOND_ADULT_NEEDED = "needed: {who}"
SECOND_ADULT_NOT_REQUIRED = "not required by the protocol"
CANNOT_MOVE = "Session {ref} is {state} and cannot become {to}."
CARD_UPDATE_FAILED = "Teams did not accept a card update; Chaperone will try again."
DRIFT_TITLE = "Meeting settings put back"
UNDELIVERED_TITLE = "A card could not be posted"
UNDELIVERED_TO_SLT = "Chaperone could not post a card for session {ref} (organiser {organiser}) to a channel; it keeps trying. Check the channel set-up (/setup)."
UNDELIVERED_TO_TEACHER = "Chaperone has not yet been able to post this session's card to the safeguarding or SLT channel; it keeps trying and SLT has been told."
CONCERN_UNDELIVERED_TITLE = "A concern alert could not be posted"
CONCERN_UNDELIVERED = "Chaperone could not post the alert for concern {ref} to the safeguarding channel; it keeps trying. The concern is stored: a DSL can open it with its reference."
END_EARLY_NEEDS_REASON = "You chose 'Ended early': say why, so the register and the DSL know."
END_TIMES = "The actual end must be after the actual start."
END_CONCERN_NEXT = (
    "Because the session ended for a {reason}, the concern form below is ready with the session and pupils filled in."
)
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
TODAY_LINE = "{state}; {organiser}; second adult: {second}; {pupils} pupil(s)"

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
#: The error card's title, by the error's kind (bot/errors.py; the most specific that applies).
ERROR_TITLES = {
    "usage": "That didn't work",
    "not_found": "Not found",
    "not_permitted": "Not allowed",
    "policy": "Not allowed by your school's protocol",
    "conflict": "Already done",
    "error": "Something went wrong",
}
FORM_FLAG = "The form sent {value!r} where yes or no was expected."
FORM_FIX_HINT = "Correct the form and press 'Check and book' again; what you entered is still there."
BOOKING_INCOMPLETE = "The booking is not complete: {msgs}."
CARD_NO_SESSION = "This card does not say which session it is for."
END_FORM_INCOMPLETE = "The end form is incomplete; open it again with /end."
END_FORM_INCOMPLETE_HINT = "Type /end and choose the session again."
END_CHOOSE_OUTCOME = 'Choose an outcome: completed or ended early (or press "It did not take place").'
END_CHOOSE_REASON = "Choose one of the listed reasons for ending early."
END_TIMES_FORMAT = "Enter the actual start and end as HH:MM."
CARD_OUT_OF_DATE = "This card is out of date or was not made by Chaperone."
CARD_OUT_OF_DATE_HINT = "Type /help to start again."
BUTTON_NOT_YOURS = "This button is only for {roles}, and Chaperone does not list you as one."
UNEXPECTED = "Something went wrong on our side; nothing you entered was lost."
UNEXPECTED_HINT = "If it happens again, give your IT team this reference: {ref}."
CONCERN_CHOOSE_CATEGORY = "Choose one of the listed categories."
CONCERN_COMPLETE = "Please complete: {fields}."
CONCERN_NOT_SENT_HINT = "Nothing was sent yet; your text is still in the form."
RECORDING_SLT_ONLY = "Only SLT can approve or decline recording."
COMMAND_ROLE = "/{name} is only for {roles}, and Chaperone does not list you as one."
ROLE_HINT = "Roles come from your school's Chaperone settings. If you should have this role, ask your Chaperone admin to add you; type /help to see what you can do now."
ROLE_WORDS = {
    "staff": "school staff",
    "slt": "senior leaders (SLT)",
    "dsl": "the DSL and deputies",
    "admin": "Chaperone admins",
}


def role_words(roles: "frozenset[str] | tuple[str, ...]") -> str:
    """("slt", "staff") -> "senior leaders (SLT) or school staff"."""
    return " or ".join(ROLE_WORDS.get(r, r) for r in sorted(roles)) or "nobody"


OWN_SESSION_HINT = "Wait for SLT to accept; Chaperone will message you when someone does."
NO_RECORD = "There is no {noun} {ref}."
NO_RECORD_UNSHOWN = "with that reference (references look like S-ABC234)"
RECORD_BUSY = "{noun} {ref} is busy; please try again."
REF_EXHAUSTED = "Could not allocate a {noun} reference; please try again."


# Teams delivery (bot/teams/): what a user reads when the Bot Connector did not take a message.
INVOKE_DONE = "Done."
NO_CONVERSATION = "Chaperone has no conversation stored for {key}."
TEAMS_MESSAGE_REFUSED = "Teams did not accept the message."
TEAMS_UPDATE_REFUSED = "Teams did not accept the card update."
TEAMS_NO_PERSONAL_CHAT = (
    "Teams did not let Chaperone open a personal chat with you; message Chaperone directly once, then try again."
)

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
    "groups_forbidden": "Microsoft Graph refused to list the role groups' members (GroupMember.Read.All is needed).",
    "unknown": "The meeting could not be created.",
    "settings_differ": "Microsoft Teams did not keep some of the protocol's meeting settings.",
    "not_locked": "The meeting's settings are not in place yet.",
    "credential_rejected": "Microsoft 365 refused Chaperone's sign-in (its Graph credential is wrong or expired).",
    "tenant_unknown": "Microsoft 365 does not know the tenant Chaperone signs in to.",
    "app_unknown": "Microsoft 365 does not know Chaperone's app registration.",
    "credential_unavailable": "Chaperone has no usable credential for Microsoft 365.",
    "entra_unreachable": "Chaperone could not reach Microsoft's sign-in service.",
}
GRAPH_HINTS = {
    "forbidden": "Your school's Teams admin must run the setup in infra/ (an application access policy for Chaperone); it can take 30 minutes to apply.",
    "unknown_organiser": "Ask IT to check the teacher's account is licensed for Teams and in the group the application access policy covers.",
    "settings_differ": "IT: a Teams meeting policy is overriding the protocol's settings; check the meeting policy assigned to the organiser (Teams admin centre) allows them.",
    "credential_rejected": "IT: check CHAPERONE_GRAPH_CLIENT_SECRET (or MICROSOFT_APP_PASSWORD, its fall-back) or the certificate at CHAPERONE_GRAPH_CERTIFICATE_PATH: it may be wrong or expired, or belong to another app than CHAPERONE_GRAPH_CLIENT_ID.",
    "tenant_unknown": "IT: check CHAPERONE_GRAPH_TENANT_ID (or MICROSOFT_APP_TENANT_ID, its fall-back) is the school's tenant id.",
    "app_unknown": "IT: check CHAPERONE_GRAPH_CLIENT_ID (or MICROSOFT_APP_ID, its fall-back) names an app registration in the school's tenant.",
    "credential_unavailable": "IT: check CHAPERONE_GRAPH_CREDENTIAL and AZURE_CLIENT_ID (the managed identity), or set CHAPERONE_GRAPH_CLIENT_SECRET or CHAPERONE_GRAPH_CERTIFICATE_PATH.",
    "entra_unreachable": "IT: the server could not reach login.microsoftonline.com (or AZURE_AUTHORITY_HOST, if set) for a token; check its network, proxy and DNS.",
}
MEETING_RETRYING = "Microsoft Teams did not answer in time. Your booking is safe; Chaperone keeps trying until the start time and will update this card. No family has been invited yet; you can cancel."
MEETING_FAILED = "The meeting could not be created: {error} IT have been told (in the SLT channel). Chaperone keeps trying until the start time and will update this card; no family has been invited. You can cancel."
MEETING_NOT_LOCKED = (
    "The Teams meeting exists, but the protocol's settings could not be applied: {error} No family has been invited, and none will be "
    "until the settings are in place. SLT{dsl} and IT have been told. Chaperone keeps trying until the start time; you can cancel."
)
MEETING_TOO_LATE = "The meeting could not be set up before the start time, so session {ref} cannot go ahead and has been cancelled. No invitation reached families; SLT have been told."
CANCELLED_FAMILIES_TOLD = (
    "This session was cancelled. The Teams invitation was withdrawn and the families were told by email."
)
CANCELLED_NONE_INVITED = "This session was cancelled before any family was invited, so no family needed telling."
CANCELLING = (
    "This session is cancelled. Chaperone is withdrawing its Teams meeting now; this card says when that is done."
)
CANCEL_PENDING = (
    "This session is cancelled in Chaperone, but the Teams invitation could not be withdrawn yet: {error} {families} "
    "Chaperone keeps trying; IT have been told."
)
CANCEL_PENDING_FAMILIES = "The families still hold the invitation."
CANCEL_PENDING_NO_FAMILIES = "No family had been invited."

# What SLT, the DSL and IT are told when a meeting cannot be set up (channels: no pupil names).
MEETING_NOTICE_TITLE = "A session's meeting could not be set up"
MEETING_NOTICE = "Session {ref} (organiser {organiser}): {what} {step} What IT must do: {hint}"
MEETING_NOTICE_STEP = {
    "create": "The meeting could not be created; no family has been invited.",
    "lock": "The protocol's settings ({fields}) could not be applied to its Teams meeting, so no family has been invited.",
    "cancel": "The session was cancelled but its Teams invitation could not be withdrawn yet.",
}
MEETING_NOTICE_HINT = "look up the request id in Chaperone's log and check Microsoft 365's service health."
MEETING_TOO_LATE_TITLE = "A session cannot go ahead"
MEETING_TOO_LATE_NOTICE = "Session {ref} (organiser {organiser}) could not get its meeting set up before its start time and has been cancelled. No invitation reached families."


def meeting_problem(code: str, *, until: str, error: str | None, ref: str) -> str:
    """The status sentence for a session's stored MeetingProblem code."""
    if code == "quiet_hours":
        return HELD_FOR_QUIET_HOURS.format(until=until)
    if code == "retrying":
        return MEETING_RETRYING
    if code == "no_second_adult":
        return GAVE_UP.format(ref=ref)
    if code == "too_late":
        return MEETING_TOO_LATE.format(ref=ref)
    if code == "cancelled_families_told":
        return CANCELLED_FAMILIES_TOLD
    if code == "cancelled_none_invited":
        return CANCELLED_NONE_INVITED
    if code == "cancelling":
        return CANCELLING
    reason = error or "unknown"
    detail = " ".join(
        x for x in (GRAPH_FAILURES.get(reason, GRAPH_FAILURES["unknown"]), GRAPH_HINTS.get(reason, "")) if x
    )
    if code in ("not_locked", "not_locked_safeguarding"):
        return MEETING_NOT_LOCKED.format(error=detail, dsl=", the DSL" if code == "not_locked_safeguarding" else "")
    if code in ("cancel_pending", "cancel_pending_families"):
        families = CANCEL_PENDING_FAMILIES if code == "cancel_pending_families" else CANCEL_PENDING_NO_FAMILIES
        return CANCEL_PENDING.format(error=detail, families=families)
    return MEETING_FAILED.format(error=detail)


# The store (bot/store/): what a teacher reads when a write or read failed, and what an admin reads about damage.
STORE_DISK_FULL = "Chaperone could not save this because the server's disk is full. Nothing was stored."
STORE_READ_ONLY = "Chaperone could not save this because its data folder is read-only. Nothing was stored."
STORE_WRITE_FAILED = "Chaperone could not save this (the server reported {error}). Nothing was stored."
STORE_READ_FAILED = "Chaperone could not read its records (the server reported {error}). Nothing was changed."
STORE_FAILED_HINT = "Try again in a few minutes. If it keeps happening, tell your IT team the reference below."
STORE_CLOSED = "Chaperone is shutting down and did not store this. Nothing was stored; try again in a minute."
STORE_TOO_LARGE = "This record is too large to store ({size} characters; the most is {limit}). Nothing was stored."
STORE_TOO_LARGE_HINT = "Shorten the longest text you entered and try again."
STORE_CORRUPT_HINT = (
    "Stop Chaperone, restore that file (or the whole data folder) from the latest backup, "
    "then run `chaperone store check` until it reports the store healthy. Chaperone does not start on a damaged store."
)
STORE_REIMPORTED = (
    "The consent registry was re-imported while this was being saved. Nothing was stored; please try again."
)
STORE_NOT_STARTING = "The store is damaged, so Chaperone does not start (it never starts with records missing)."

ROLE_TITLES = {
    "dsl": "DSL",
    "dsl_deputy": "Deputy DSL",
    "head": "Headteacher",
    "chair": "Chair of governors",
    "slt": "SLT",
    "admin": "Admin",
}

# --- concern routing, personal notices, cases, chronology, retention -------------------------------
ROUTE_WHY = "Your protocol says: \u201c{sentence}\u201d"
CONCERN_ABOUT_CHOICES = {
    "child": "A child or their family",
    "staff": "An adult in the session or another member of staff",
    "head": "The headteacher",
    "dsl": "The DSL or a deputy DSL",
}
CONCERN_TOLD_PERSONALLY = "The {who} has been told personally (reference only; the details stay private)."
CONCERN_NOBODY_TO_TELL = (
    "Chaperone knows nobody to tell for this concern yet; it will keep trying. Tell the {who} in person now."
)
CONCERN_NOTICE_REPEAT = "Reminder {n}: not yet acknowledged. Please acknowledge."
CONCERN_NOT_YOURS = "This concern is not routed to you. Your attempt has been recorded."
CONCERN_BAD_ABOUT = "Say who the concern is about."
CONCERN_UNKNOWN_PUPIL = "Pick pupils from the list; type a name only if the pupil is not listed."
CASE_KINDS = {
    "acknowledged": "Acknowledged",
    "decision": "Decision",
    "action": "Action",
    "referral": "Referral",
    "outcome": "Outcome",
    "transferred": "Transferred to the school's record system",
    "linked": "Pupil linked",
    "note": "Note",
}
CASE_AGENCIES = ("Children's social care / MASH", "Police", "Early Help", "LADO", "Health", "Other")
CASE_NEEDS_TEXT = "Write the decision and its reason, the action, or the outcome."
CASE_REFERRAL_NEEDS = "A referral needs the agency and the date it was made."
CASE_TRANSFER_NEEDS = "Say which system it went to (e.g. CPOMS, MyConcern) and the date."
CASE_BAD_KIND = "Choose what you are adding to the case."
CASE_BAD_DATE = "The date is not valid."
CASE_LINK_NEEDS = "Choose the pupil to link from the registry."
CHRONOLOGY_USAGE = "Say which pupil: /chronology Pip Example (or their key, e.g. P-2K7QXA)."
CHRONOLOGY_NO_PUPIL = "No pupil of that name or key is in the consent registry."
CHRONOLOGY_EMPTY = "Nothing is recorded for this pupil."
RETENTION_NOTHING = "Nothing is past its retention date."
CONCERN_BAD_SESSION = "That session is not one of yours; choose it from the list or leave it empty."
#: Where a concern raised from /end happened (the form's prefilled answer).
CONCERN_WHERE_ONLINE = "In the online session"

EXPORT_NOT_AUDITED = (
    "Nothing was exported: every export is recorded in the audit trail first, and that failed ({error})."
)
EXPORT_NOT_AUDITED_HINT = (
    "Run the export where the data folder is writable (the same account as Chaperone), or fix the folder's permissions."
)
