"""The register export: one row per session, as a CSV that opens cleanly in Excel (UTF-8 BOM, ISO dates)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from bot import texts
from bot.sessions.model import Session
from bot.texts import EARLY_REASON_LABELS

COLUMNS = [
    "reference",
    "date",
    "start",
    "end",
    "state",
    "organiser",
    "organiser_email",
    "second_adult",
    "second_adult_email",
    "type",
    "reason",
    "pupils",
    "consent",
    "policy_profile",
    "meeting_settings",
    "outcome",
    "early_end_reason",
    "actual_start",
    "actual_end",
    "pupils_present",
    "parent_at_start",
    "parent_at_end",
    "second_adult_throughout",
    "attendance_flags",
    "note",
]


def _settings(s: Session) -> str:
    if not s.meeting:
        return ""
    parts = []
    for k, v in s.meeting.settings.items():
        if isinstance(v, dict):
            v = v.get("scope", "")
        parts.append(f"{k}={str(v).lower() if isinstance(v, bool) else v}")
    return "; ".join(parts)


def rows(
    sessions: Iterable[Session], tz: str, *, start: date | None = None, end: date | None = None
) -> list[list[str]]:
    zone = ZoneInfo(tz)
    out = []
    for s in sorted(sessions, key=lambda x: x.booking.start):
        local = s.booking.start.astimezone(zone)
        if (start and local.date() < start) or (end and local.date() > end):
            continue
        c = s.closure
        out.append(
            [
                s.ref,
                local.date().isoformat(),
                f"{local:%H:%M}",
                f"{s.booking.end.astimezone(zone):%H:%M}",
                s.state.value,
                s.organiser.name,
                s.organiser.email or "",
                s.second_adult.name if s.second_adult else "",
                (s.second_adult.email or "") if s.second_adult else "",
                s.booking.type.value,
                s.booking.reason.value,
                "; ".join(p.name for p in s.booking.pupils),
                "; ".join(f"{p.name}: {p.consent.value}" for p in s.booking.pupils),
                s.profile_id,
                _settings(s),
                c.outcome if c else "",
                EARLY_REASON_LABELS.get(c.early_reason or "", "") if c else "",
                f"{c.actual_start.astimezone(zone):%H:%M}" if c and c.actual_start else "",
                f"{c.actual_end.astimezone(zone):%H:%M}" if c and c.actual_end else "",
                "; ".join(p.name for p in c.pupils if p.present) if c else "",
                "; ".join(p.name for p in c.pupils if p.parent_at_start) if c else "",
                "; ".join(p.name for p in c.pupils if p.parent_at_end) if c else "",
                "" if not c or c.second_adult_throughout is None else ("yes" if c.second_adult_throughout else "no"),
                texts.attendance_flags(list(c.flags)) if c else "",
                c.note if c else "",
            ]
        )
    return out


def to_csv(header: list[str], body: list[list[str]]) -> str:
    """CSV text with a BOM so Excel reads UTF-8; cells that look like formulas are neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in body:
        w.writerow([("'" + v) if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    return "\ufeff" + buf.getvalue()
