"""What the meeting providers write: the invitation families receive, and their refusals."""

from __future__ import annotations

INVITATION_DO_NOT_FORWARD = "Please do not forward this invitation: the link is for the people invited only."


def invitation_when(when: str) -> str:
    """``when``: the date, times and time zone, already formatted (and escaped for HTML)."""
    return f"Date and time: {when}"


def no_meeting(booking_id: str) -> str:
    return f"No meeting for booking {booking_id}."


def not_locked(booking_id: str) -> str:
    return f"The meeting of {booking_id} is not locked; no family is invited."
