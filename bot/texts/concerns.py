"""Sentences about concerns and their case records that are built from data (the rest are in bot/texts/__init__.py)."""

from __future__ import annotations

from datetime import date


def referral(agency: str, agency_ref: str | None, on: date | None) -> str:
    return (
        f"to {agency}"
        + (f", their reference {agency_ref}" if agency_ref else "")
        + (f", on {on.isoformat()}" if on else "")
    )


def transferred(system: str, on: date | None) -> str:
    return f"to {system}" + (f" on {on.isoformat()}" if on else "")


def linked(pupil_key: str) -> str:
    return f"linked to pupil {pupil_key}"


def not_yet_linked(unlinked: str) -> str:
    return f" (not yet linked: {unlinked})"


def case_busy(ref: str) -> str:
    return f"The case of {ref} is busy; try again."


def no_record(ref: str) -> str:
    return f"There is no concern or session {ref}."


def viewed_in(source: str) -> str:
    """The audit detail of a concern opened in a personal chat (``source``: where it was asked for)."""
    return f"sent to personal chat {source}".strip()
