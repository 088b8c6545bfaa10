"""The rules engine: a pure function from (profile, school config, booking, now) to a decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from bot.config import SchoolConfig
from bot.policy import model as m
from bot.policy.booking import AdultRole, Booking, Consent, SessionType
from bot.policy.meeting import meeting_settings
from bot.policy.messages import BASELINE, BASELINE_FILE, fmt, who
from bot.policy.model import Profile, Source


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    source: Source

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "source": {"file": self.source.file, "text": self.source.text}}


@dataclass(frozen=True)
class Requirement:
    kind: str
    detail: str
    rule: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    violations: tuple[Violation, ...]
    requirements: tuple[Requirement, ...]
    meeting: dict[str, Any]

    def requirement(self, kind: str) -> Requirement | None:
        return next((r for r in self.requirements if r.kind == kind), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "violations": [v.to_json() for v in self.violations],
            "requirements": [r.to_json() for r in self.requirements],
            "meeting": self.meeting,
        }


Finding = Violation | Requirement


@dataclass(frozen=True)
class _Ctx:
    profile: Profile
    school: SchoolConfig
    booking: Booking
    now: datetime
    tz: ZoneInfo

    def v(self, rule: m._Rule, key: str, **values: object) -> Violation:
        return Violation(rule.id, fmt(key, **values), self.profile.source_of(rule))

    @property
    def staff_domains(self) -> str:
        return ", ".join("@" + d for d in self.school.school.staff_domains)

    @property
    def pupil_domains(self) -> str:
        return ", ".join("@" + d for d in self.school.school.pupil_domains) or "none configured"


def _hhmm(t: time | datetime) -> str:
    return t.strftime("%H:%M")


def _span(minutes: float) -> str:
    minutes = int(minutes)
    if minutes >= 1440 and minutes % 1440 == 0:
        d = minutes // 1440
        return f"{d} day" + ("s" if d != 1 else "")
    if minutes >= 60:
        h, mm = divmod(minutes, 60)
        return f"{h} h {mm:02d} min" if mm else f"{h} hour" + ("s" if h != 1 else "")
    return f"{max(minutes, 0)} minutes"


def _check_hours(c: _Ctx, r: m.HoursRule) -> Iterator[Finding]:
    start = c.booking.start.astimezone(c.tz)
    end = c.booking.end.astimezone(c.tz)
    day = m.Weekday(list(m.Weekday)[start.weekday()].value)
    if day not in r.days:
        yield c.v(r, "day", days=", ".join(d.value.title() for d in r.days), date=start.date().isoformat(), day=start.strftime("%A"))
        return
    if start.time() < r.start or end.date() != start.date() or end.time() > r.end:
        yield c.v(r, "hours", start=_hhmm(r.start), end=_hhmm(r.end), tz=c.tz.key, from_=_hhmm(start), to=_hhmm(end))


def _check_notice(c: _Ctx, r: m.NoticeRule) -> Iterator[Finding]:
    have = (c.booking.start - c.now).total_seconds() / 60
    if 0 < have < r.min_minutes:
        yield c.v(r, "notice", need=_span(r.min_minutes), have=_span(have))


def _check_duration(c: _Ctx, r: m.DurationRule) -> Iterator[Finding]:
    if c.booking.duration_minutes > r.max_minutes:
        yield c.v(r, "duration", max=r.max_minutes, minutes=c.booking.duration_minutes)


def _check_one_to_one(c: _Ctx, r: m.OneToOneRule) -> Iterator[Finding]:
    if c.booking.effective_type is not SessionType.ONE_TO_ONE:
        return
    if not r.allowed:
        yield c.v(r, "one_to_one_forbidden")
    elif r.reasons is not None and c.booking.reason not in r.reasons:
        yield c.v(r, "one_to_one_reason", reasons=" or ".join(x.value for x in r.reasons), reason=c.booking.reason.value)


def _check_group_size(c: _Ctx, r: m.GroupSizeRule) -> Iterator[Finding]:
    if c.booking.type is not SessionType.GROUP:
        return
    n = len(c.booking.pupils)
    if n < r.min_pupils:
        yield c.v(r, "group_min", min=r.min_pupils, n=n)
    if r.max_pupils is not None and n > r.max_pupils:
        yield c.v(r, "group_max", max=r.max_pupils, n=n)


def _second_adult_needed(r: m.SecondAdultRule, b: Booking) -> bool:
    return r.required == "always" or (r.required == "one_to_one" and b.effective_type is SessionType.ONE_TO_ONE) or (
        r.required == "group" and b.effective_type is SessionType.GROUP
    )


def _check_second_adult(c: _Ctx, r: m.SecondAdultRule) -> Iterator[Finding]:
    adult = c.booking.second_adult
    if adult is None:
        if _second_adult_needed(r, c.booking):
            yield Requirement("second_adult", fmt("req_second_adult", who=who(r.qualifies)), r.id, {"qualifies": [q.value for q in r.qualifies]})
        return
    if adult.email.casefold() == c.booking.organiser.email.casefold():
        yield c.v(r, "second_adult_self")
    if adult.role not in r.qualifies:
        yield c.v(r, "second_adult_role", who=who(r.qualifies), name=adult.name, role=who([adult.role.value]))
    elif adult.role in (AdultRole.SLT, AdultRole.STAFF) and not c.school.is_staff_email(adult.email):
        yield c.v(r, "second_adult_account", name=adult.name, domains=c.staff_domains, email=adult.email)
    elif adult.role is AdultRole.SLT and c.school.roles.slt and "slt" not in c.school.roles_of(adult.email):
        yield c.v(r, "second_adult_not_slt", name=adult.name)
    elif adult.role is AdultRole.PARENT:
        yield Requirement("parent_supervises", fmt("req_parent_joins_first", name=adult.name), r.id)


def _check_consent(c: _Ctx, r: m.ConsentRule) -> Iterator[Finding]:
    for p in c.booking.pupils:
        if p.consent is Consent.NONE:
            yield c.v(r, "consent_none", pupil=p.name)
        elif p.consent not in r.accept:
            yield c.v(r, "consent_implied", pupil=p.name)
        elif p.consent is Consent.IMPLIED:
            yield Requirement("consent_pending", fmt("req_consent_pending", pupil=p.name), r.id, {"pupil": p.name})


def _check_staff_account(c: _Ctx, r: m.StaffAccountRule) -> Iterator[Finding]:
    if not c.school.is_staff_email(c.booking.organiser.email):
        yield c.v(r, "staff_account", domains=c.staff_domains, email=c.booking.organiser.email)


def _check_invite(c: _Ctx, r: m.InviteRule) -> Iterator[Finding]:
    for p in c.booking.pupils:
        if r.to == "parent_email":
            if not p.parent_email:
                yield c.v(r, "invite_parent_missing", pupil=p.name)
            elif c.school.is_pupil_email(p.parent_email) or (p.school_email and p.parent_email.casefold() == p.school_email.casefold()):
                yield c.v(r, "invite_parent_is_pupil", pupil=p.name, email=p.parent_email)
        else:
            if not p.school_email:
                yield c.v(r, "invite_school_missing", pupil=p.name, domains=c.pupil_domains)
            elif c.school.school.pupil_domains and not c.school.is_pupil_email(p.school_email):
                yield c.v(r, "invite_school_domain", pupil=p.name, email=p.school_email, domains=c.pupil_domains)


def _check_copy_slt(c: _Ctx, r: m.CopySltRule) -> Iterator[Finding]:
    yield Requirement("copy_slt", fmt("req_copy_slt"), r.id)


def _check_tell_parents(c: _Ctx, r: m.TellParentsRule) -> Iterator[Finding]:
    kind = c.booking.effective_type
    if r.when == "always" or (r.when == "group" and kind is SessionType.GROUP) or (r.when == "one_to_one" and kind is SessionType.ONE_TO_ONE):
        yield Requirement("tell_parents", r.note, r.id)


def _check_recording(c: _Ctx, r: m.RecordingRule) -> Iterator[Finding]:
    asked = c.booking.recording
    if r.mode == "forbidden" and asked:
        yield c.v(r, "recording_forbidden")
    elif r.mode == "automatic":
        if asked is False:
            yield c.v(r, "recording_required")
        else:
            yield Requirement("recording_automatic", fmt("req_recording_automatic"), r.id)
    elif r.mode == "slt_approval" and asked:
        yield Requirement("recording_approval", fmt("req_recording_approval"), r.id)


def _check_chat(c: _Ctx, r: m.ChatRule) -> Iterator[Finding]:
    if r.mode == "disabled" and c.booking.chat:
        yield c.v(r, "chat_forbidden")


def quiet_until(profile: Profile, school: SchoolConfig, now: datetime) -> datetime | None:
    """When the profile's quiet hours for messages to families end, if ``now`` is inside them."""
    r = profile.rule("quiet_hours")
    if r is None:
        return None
    tz = timezone_of(profile, school)
    local = now.astimezone(tz)
    t = local.time()
    quiet = (r.start <= t or t < r.end) if r.start > r.end else (r.start <= t < r.end)  # type: ignore[attr-defined]
    if not quiet:
        return None
    day = local.date() if t < r.end else local.date() + timedelta(days=1)  # type: ignore[attr-defined]
    return datetime.combine(day, r.end, tzinfo=tz)  # type: ignore[attr-defined]


def _check_quiet_hours(c: _Ctx, r: m.QuietHoursRule) -> Iterator[Finding]:
    if quiet_until(c.profile, c.school, c.now) is not None:
        yield Requirement("hold_messages", fmt("req_quiet_hours", start=_hhmm(r.start), end=_hhmm(r.end)), r.id, {"until": _hhmm(r.end)})


_NOTHING: Callable[[_Ctx, Any], Iterator[Finding]] = lambda c, r: iter(())

CHECKS: dict[str, Callable[[_Ctx, Any], Iterator[Finding]]] = {
    "hours": _check_hours,
    "notice": _check_notice,
    "duration": _check_duration,
    "one_to_one": _check_one_to_one,
    "group_size": _check_group_size,
    "second_adult": _check_second_adult,
    "consent": _check_consent,
    "staff_account": _check_staff_account,
    "invite": _check_invite,
    "copy_slt": _check_copy_slt,
    "tell_parents": _check_tell_parents,
    "recording": _check_recording,
    "chat": _check_chat,
    "quiet_hours": _check_quiet_hours,
    # meeting settings only (see bot.policy.meeting)
    "lobby": _NOTHING,
    "presenters": _NOTHING,
    "microphones": _NOTHING,
    "cameras": _NOTHING,
    # what to do when a session ends early (see breach_notes)
    "breach": _NOTHING,
}


def breach_notes(profile: Profile, reason: str | None) -> list[tuple[str, Source]]:
    """The instructions the profile gives for a session ended early for ``reason``."""
    return [(r.note, profile.source_of(r)) for r in profile.rules_of("breach") if reason in r.reasons]  # type: ignore[attr-defined]


def school_hours_rule(school: SchoolConfig) -> m.HoursRule | None:
    """The school's own hours from its config, as a rule whose source is the config file."""
    h = school.school.hours
    if h is None:
        return None
    return m.HoursRule(
        id="school.hours", kind="hours", days=h.days, start=h.start, end=h.end,
        sentence=f"School hours: {', '.join(d.value.title() for d in h.days)} {_hhmm(h.start)}–{_hhmm(h.end)}.",
        file=school.path or "school config",
    )


def timezone_of(profile: Profile, school: SchoolConfig) -> ZoneInfo:
    return ZoneInfo(school.school.timezone or profile.timezone)


def evaluate(profile: Profile, school: SchoolConfig, booking: Booking, now: datetime) -> Decision:
    """Check a booking against a profile. Pure and deterministic; never raises on a valid Booking."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    c = _Ctx(profile, school, booking, now, timezone_of(profile, school))
    findings: list[Finding] = []
    if booking.start <= now:
        findings.append(Violation("chaperone.past", fmt("past", start=booking.start.astimezone(c.tz).strftime("%Y-%m-%d %H:%M")), Source(file=BASELINE_FILE, text=BASELINE["past"])))
    if profile.rule("recording") is None and booking.recording:
        findings.append(Violation("chaperone.recording", fmt("recording_unset"), Source(file=BASELINE_FILE, text=BASELINE["recording"])))
    if profile.rule("consent") is None:
        for p in booking.pupils:
            if p.consent is Consent.NONE:
                findings.append(Violation("chaperone.consent", fmt("consent_none", pupil=p.name), Source(file=BASELINE_FILE, text=BASELINE["consent"])))
    extra = school_hours_rule(school)
    for rule in (*profile.rules, *((extra,) if extra else ())):
        findings.extend(CHECKS[rule.kind](c, rule))
    violations = tuple(f for f in findings if isinstance(f, Violation))
    requirements = tuple(f for f in findings if isinstance(f, Requirement))
    return Decision(
        allowed=not violations,
        violations=violations,
        requirements=requirements,
        meeting=meeting_settings(profile, booking),
    )
