"""The rule kinds: each class holds its parameters, its check of a booking and its summary in words.

Every list of kinds (the profile's union, the kinds allowed once, the loader's tags, the engine's
checks, the matrix's areas) is derived from ``RULE_CLASSES`` below: a new kind is one new class.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Annotated, ClassVar, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.policy.booking import AdultRole, Booking, Consent, Pupil, Reason, SessionType
from bot.policy.facts import Weekday
from bot.policy.findings import Checker, Context, Finding, Requirement, Source, hhmm, span
from bot.texts import policy as policy_texts
from bot.texts.policy import CONCERN_ROLE_NAMES, fmt, who

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
ConcernRole = Literal["dsl", "dsl_deputy", "head", "chair"]


class RuleBase(BaseModel):
    """A rule: its id, the protocol sentence it enforces, and (per kind) its check and summary."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The heading of this kind in `policy show` and the compliance matrix.
    area: ClassVar[str] = ""
    #: Whether a profile may hold this kind at most once (two would contradict each other).
    single: ClassVar[bool] = True
    #: Rules that only shape the Teams meeting or guide the teacher: a booking cannot break them.
    unbreakable: ClassVar[bool] = False

    id: RuleId
    sentence: str = Field(min_length=3)
    file: str | None = None

    def source(self, default_file: str, title: str | None = None) -> Source:
        if self.file:
            return Source(file=self.file, text=self.sentence, title=self.file)
        return Source(file=default_file, text=self.sentence, title=title)

    @classmethod
    def kind_name(cls) -> str:
        """The ``kind`` this class is written as in a profile."""
        (name,) = get_args(cls.model_fields["kind"].annotation)
        return str(name)

    def check(self, c: Context) -> Iterator[Finding]:
        """What this rule finds in the booking (violations and requirements)."""
        raise NotImplementedError(type(self).__name__)

    def check_pupil(self, c: Checker, pupil: Pupil) -> Iterator[Finding]:
        """What this rule finds about one pupil on their own (used by the booking form's picker)."""
        return iter(())

    def summary(self) -> str:
        """The rule's setting in a few words (for `policy show` and the matrix)."""
        raise NotImplementedError(type(self).__name__)


class HoursRule(RuleBase):
    """Sessions start and end inside these days and local hours."""

    area: ClassVar[str] = "Days and hours"
    kind: Literal["hours"]
    days: tuple[Weekday, ...] = Field(min_length=1)
    start: time
    end: time

    @model_validator(mode="after")
    def _order(self) -> HoursRule:
        if self.end <= self.start:
            raise ValueError(policy_texts.INVALID_HOURS_ORDER)
        return self

    def check(self, c: Context) -> Iterator[Finding]:
        start = c.booking.start.astimezone(c.tz)
        end = c.booking.end.astimezone(c.tz)
        day = list(Weekday)[start.weekday()]
        if day not in self.days:
            yield c.v(
                self,
                "day",
                days=", ".join(d.value.title() for d in self.days),
                date=start.date().isoformat(),
                day=start.strftime("%A"),
            )
            return
        if start.time() < self.start or end.date() != start.date() or end.time() > self.end:
            yield c.v(
                self, "hours", start=hhmm(self.start), end=hhmm(self.end), tz=c.tz.key, from_=hhmm(start), to=hhmm(end)
            )

    def summary(self) -> str:
        return f"{', '.join(d.value.title() for d in self.days)} {self.start:%H:%M}–{self.end:%H:%M}"


class QuietHoursRule(RuleBase):
    """No messages to families between start and end (local time); invitations wait."""

    area: ClassVar[str] = "Quiet hours for messages to families"
    unbreakable: ClassVar[bool] = True
    kind: Literal["quiet_hours"]
    start: time
    end: time

    def until(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """When quiet hours end, if ``now`` is inside them."""
        local = now.astimezone(tz)
        t = local.time()
        quiet = (self.start <= t or t < self.end) if self.start > self.end else (self.start <= t < self.end)
        if not quiet:
            return None
        day = local.date() if t < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz)

    def check(self, c: Context) -> Iterator[Finding]:
        if self.until(c.now, c.tz) is not None:
            yield Requirement(
                "hold_messages",
                fmt("req_quiet_hours", start=hhmm(self.start), end=hhmm(self.end)),
                self.id,
                {"until": hhmm(self.end)},
            )

    def summary(self) -> str:
        return f"no messages {self.start:%H:%M}–{self.end:%H:%M}"


class NoticeRule(RuleBase):
    """Bookings need this much notice (a booking in the past is always refused)."""

    area: ClassVar[str] = "Notice"
    kind: Literal["notice"]
    min_minutes: int = Field(ge=0)

    def check(self, c: Context) -> Iterator[Finding]:
        have = (c.booking.start - c.now).total_seconds() / 60
        if 0 < have < self.min_minutes:
            yield c.v(self, "notice", need=span(self.min_minutes), have=span(have))

    def summary(self) -> str:
        return f"at least {self.min_minutes} minutes"


class DurationRule(RuleBase):
    area: ClassVar[str] = "Maximum length"
    kind: Literal["duration"]
    max_minutes: int = Field(gt=0)

    def check(self, c: Context) -> Iterator[Finding]:
        if c.booking.duration_minutes > self.max_minutes:
            yield c.v(self, "duration", max=self.max_minutes, minutes=c.booking.duration_minutes)

    def summary(self) -> str:
        return f"at most {self.max_minutes} minutes"


class OneToOneRule(RuleBase):
    """Whether 1:1 sessions are allowed, and for which reasons (None: any reason)."""

    area: ClassVar[str] = "1:1 sessions"
    kind: Literal["one_to_one"]
    allowed: bool = True
    reasons: tuple[Reason, ...] | None = None

    def check(self, c: Context) -> Iterator[Finding]:
        if c.booking.effective_type is not SessionType.ONE_TO_ONE:
            return
        if not self.allowed:
            yield c.v(self, "one_to_one_forbidden")
        elif self.reasons is not None and c.booking.reason not in self.reasons:
            yield c.v(
                self,
                "one_to_one_reason",
                reasons=" or ".join(x.value for x in self.reasons),
                reason=c.booking.reason.value,
            )

    def summary(self) -> str:
        if not self.allowed:
            return "not allowed"
        return "allowed for " + (", ".join(r.value for r in self.reasons) if self.reasons else "any reason")


class GroupSizeRule(RuleBase):
    area: ClassVar[str] = "Group size"
    kind: Literal["group_size"]
    min_pupils: int = Field(default=2, ge=1)
    max_pupils: int | None = Field(default=None, ge=1)

    def check(self, c: Context) -> Iterator[Finding]:
        if c.booking.type is not SessionType.GROUP:
            return
        n = len(c.booking.pupils)
        if n < self.min_pupils:
            yield c.v(self, "group_min", min=self.min_pupils, n=n)
        if self.max_pupils is not None and n > self.max_pupils:
            yield c.v(self, "group_max", max=self.max_pupils, n=n)

    def summary(self) -> str:
        return f"at least {self.min_pupils} pupils" + (f", at most {self.max_pupils}" if self.max_pupils else "")


class SecondAdultRule(RuleBase):
    """A second adult must attend; who qualifies."""

    area: ClassVar[str] = "Second adult"
    kind: Literal["second_adult"]
    required: Literal["always", "one_to_one", "group", "never"] = "always"
    qualifies: tuple[AdultRole, ...] = Field(min_length=1)

    def needed(self, b: Booking) -> bool:
        kind = b.effective_type
        return (
            self.required == "always"
            or (self.required == "one_to_one" and kind is SessionType.ONE_TO_ONE)
            or (self.required == "group" and kind is SessionType.GROUP)
        )

    def check(self, c: Context) -> Iterator[Finding]:
        adult = c.booking.second_adult
        if adult is None:
            if self.needed(c.booking):
                yield Requirement(
                    "second_adult",
                    fmt("req_second_adult", who=who(self.qualifies)),
                    self.id,
                    {"qualifies": [q.value for q in self.qualifies]},
                )
            return
        if adult.email.casefold() == c.booking.organiser.email.casefold():
            yield c.v(self, "second_adult_self")
        if adult.role not in self.qualifies:
            yield c.v(self, "second_adult_role", who=who(self.qualifies), name=adult.name, role=who([adult.role.value]))
        elif adult.role in (AdultRole.SLT, AdultRole.STAFF) and not c.facts.is_staff_email(adult.email):
            yield c.v(self, "second_adult_account", name=adult.name, domains=c.staff_domains, email=adult.email)
        elif adult.role is AdultRole.SLT and c.facts.slt and not c.facts.is_slt(adult.email):
            yield c.v(self, "second_adult_not_slt", name=adult.name)
        elif adult.role is AdultRole.PARENT:
            yield Requirement("parent_supervises", fmt("req_parent_joins_first", name=adult.name), self.id)

    def summary(self) -> str:
        return f"required: {self.required}; qualifies: {', '.join(q.value for q in self.qualifies)}"


class ConsentRule(RuleBase):
    """Which parental consent states allow a pupil to be booked."""

    area: ClassVar[str] = "Parental consent"
    kind: Literal["consent"]
    accept: tuple[Consent, ...] = (Consent.SIGNED,)

    @field_validator("accept")
    @classmethod
    def _never_none(cls, v: tuple[Consent, ...]) -> tuple[Consent, ...]:
        if Consent.NONE in v:
            raise ValueError(policy_texts.INVALID_CONSENT_NONE)
        return v

    def check(self, c: Context) -> Iterator[Finding]:
        for p in c.booking.pupils:
            yield from self.check_pupil(c, p)

    def check_pupil(self, c: Checker, pupil: Pupil) -> Iterator[Finding]:
        if pupil.consent is Consent.NONE:
            yield c.v(self, "consent_none", pupil=pupil.name)
        elif pupil.consent not in self.accept:
            yield c.v(self, "consent_implied", pupil=pupil.name)
        elif pupil.consent is Consent.IMPLIED:
            yield Requirement(
                "consent_pending", fmt("req_consent_pending", pupil=pupil.name), self.id, {"pupil": pupil.name}
            )

    def summary(self) -> str:
        return "accepted: " + ", ".join(c.value for c in self.accept)


class StaffAccountRule(RuleBase):
    """Staff use school accounts: the organiser's (and a staff second adult's) email domain."""

    area: ClassVar[str] = "Staff on school accounts"
    kind: Literal["staff_account"]

    def check(self, c: Context) -> Iterator[Finding]:
        if not c.facts.is_staff_email(c.booking.organiser.email):
            yield c.v(self, "staff_account", domains=c.staff_domains, email=c.booking.organiser.email)

    def summary(self) -> str:
        return "organiser's email on a staff domain"


class InviteRule(RuleBase):
    """Who receives the invitation: the parent's email, or the pupil's school account."""

    area: ClassVar[str] = "Who is invited"
    kind: Literal["invite"]
    to: Literal["parent_email", "pupil_school_email"]

    def check(self, c: Context) -> Iterator[Finding]:
        for p in c.booking.pupils:
            yield from self.check_pupil(c, p)

    def check_pupil(self, c: Checker, pupil: Pupil) -> Iterator[Finding]:
        p = pupil
        if self.to == "parent_email":
            if not p.parent_email:
                yield c.v(self, "invite_parent_missing", pupil=p.name)
            elif c.facts.is_pupil_email(p.parent_email) or (
                p.school_email and p.parent_email.casefold() == p.school_email.casefold()
            ):
                yield c.v(self, "invite_parent_is_pupil", pupil=p.name, email=p.parent_email)
        elif not p.school_email:
            yield c.v(self, "invite_school_missing", pupil=p.name, domains=c.pupil_domains)
        elif c.facts.pupil_domains and not c.facts.is_pupil_email(p.school_email):
            yield c.v(self, "invite_school_domain", pupil=p.name, email=p.school_email, domains=c.pupil_domains)

    def summary(self) -> str:
        return "parent's email" if self.to == "parent_email" else "pupil's school account"


class CopySltRule(RuleBase):
    """SLT are copied on the invitation (optional attendees) with the date and time."""

    area: ClassVar[str] = "SLT copied"
    unbreakable: ClassVar[bool] = True
    kind: Literal["copy_slt"]

    def check(self, c: Context) -> Iterator[Finding]:
        yield Requirement("copy_slt", fmt("req_copy_slt"), self.id)

    def summary(self) -> str:
        return "SLT optional attendees"


class TellParentsRule(RuleBase):
    """A plain sentence the invitation must carry, always or only for group sessions."""

    area: ClassVar[str] = "What parents are told"
    single: ClassVar[bool] = False
    unbreakable: ClassVar[bool] = True
    kind: Literal["tell_parents"]
    note: str = Field(min_length=3)
    when: Literal["always", "group", "one_to_one"] = "always"

    def check(self, c: Context) -> Iterator[Finding]:
        kind = c.booking.effective_type
        if (
            self.when == "always"
            or (self.when == "group" and kind is SessionType.GROUP)
            or (self.when == "one_to_one" and kind is SessionType.ONE_TO_ONE)
        ):
            yield Requirement("tell_parents", self.note, self.id)

    def summary(self) -> str:
        return f"({self.when}) {self.note}"


class RecordingRule(RuleBase):
    area: ClassVar[str] = "Recording"
    kind: Literal["recording"]
    mode: Literal["forbidden", "automatic", "slt_approval"]

    def check(self, c: Context) -> Iterator[Finding]:
        asked = c.booking.recording
        if self.mode == "forbidden" and asked:
            yield c.v(self, "recording_forbidden")
        elif self.mode == "automatic":
            if asked is False:
                yield c.v(self, "recording_required")
            else:
                yield Requirement("recording_automatic", fmt("req_recording_automatic"), self.id)
        elif self.mode == "slt_approval" and asked:
            yield Requirement("recording_approval", fmt("req_recording_approval"), self.id)

    def summary(self) -> str:
        return {"forbidden": "forbidden", "automatic": "automatic", "slt_approval": "only with SLT approval"}[self.mode]


class ChatRule(RuleBase):
    """'disabled': no chat. 'during_session': teacher may allow chat, limited to the meeting."""

    area: ClassVar[str] = "Meeting chat"
    kind: Literal["chat"]
    mode: Literal["disabled", "during_session"]

    def check(self, c: Context) -> Iterator[Finding]:
        if self.mode == "disabled" and c.booking.chat:
            yield c.v(self, "chat_forbidden")

    def summary(self) -> str:
        return "off" if self.mode == "disabled" else "may be on, during the session only"


class LobbyRule(RuleBase):
    """Who waits in the lobby and who may admit them (a meeting setting: see bot.policy.meeting)."""

    area: ClassVar[str] = "Lobby"
    unbreakable: ClassVar[bool] = True
    kind: Literal["lobby"]
    bypass: Literal["organizer", "invited", "organization"] = "organizer"
    admitters: Literal["organizerAndCoOrganizers", "organizerAndCoOrganizersAndPresenters"] = "organizerAndCoOrganizers"

    def check(self, c: Context) -> Iterator[Finding]:
        return iter(())

    def summary(self) -> str:
        return f"bypass: {self.bypass}; admit: {self.admitters}"


class PresentersRule(RuleBase):
    """Who may present (a meeting setting)."""

    area: ClassVar[str] = "Who presents"
    unbreakable: ClassVar[bool] = True
    kind: Literal["presenters"]
    who: Literal["organizer", "roleIsPresenter"] = "organizer"

    def check(self, c: Context) -> Iterator[Finding]:
        return iter(())

    def summary(self) -> str:
        return self.who


class MicrophoneRule(RuleBase):
    """Attendees' microphones locked until staff allow them (Graph has no 'muted on entry')."""

    area: ClassVar[str] = "Microphones"
    unbreakable: ClassVar[bool] = True
    kind: Literal["microphones"]
    attendees_may_unmute: bool

    def check(self, c: Context) -> Iterator[Finding]:
        return iter(())

    def summary(self) -> str:
        return "attendees may unmute" if self.attendees_may_unmute else "locked on entry"


class CameraRule(RuleBase):
    """Attendees' cameras (a meeting setting)."""

    area: ClassVar[str] = "Cameras"
    unbreakable: ClassVar[bool] = True
    kind: Literal["cameras"]
    attendees_may_enable: bool

    def check(self, c: Context) -> Iterator[Finding]:
        return iter(())

    def summary(self) -> str:
        return "attendees may turn on" if self.attendees_may_enable else "locked off"


BreachReason = Literal["behaviour", "inappropriate_content", "security_breach", "safeguarding", "technical"]


class BreachRule(RuleBase):
    """What the teacher must do when a session ends early for one of these reasons."""

    area: ClassVar[str] = "When a session ends early"
    single: ClassVar[bool] = False
    unbreakable: ClassVar[bool] = True
    kind: Literal["breach"]
    reasons: tuple[BreachReason, ...] = Field(min_length=1)
    note: str = Field(min_length=3)

    def check(self, c: Context) -> Iterator[Finding]:
        return iter(())  # shown when a session ends early (see engine.breach_notes)

    def summary(self) -> str:
        return f"on {', '.join(x.replace('_', ' ') for x in self.reasons)}: {self.note}"


class ConcernRouteRule(RuleBase):
    """Who is told of a concern: about a child or family, or about an adult (a member of staff).

    ``tell`` lists roles in the school config (``dsl``, ``dsl_deputy``, ``head``, ``chair``).
    See ``bot.policy.concerns.concern_route`` for how a concern naming the head or the DSL is routed.
    """

    area: ClassVar[str] = "Who is told of a concern"
    single: ClassVar[bool] = False
    unbreakable: ClassVar[bool] = True
    kind: Literal["concern_route"]
    about: Literal["child", "adult"]
    tell: tuple[ConcernRole, ...] = Field(min_length=1)

    def check(self, c: Context) -> Iterator[Finding]:
        return iter(())  # used when a concern is raised (see bot.policy.concerns)

    def summary(self) -> str:
        about = "about a child or family" if self.about == "child" else "about a member of staff"
        return f"{about}: tell " + ", ".join(CONCERN_ROLE_NAMES[t] for t in self.tell)


#: Every rule kind; the order is the order `policy show` and the matrix present them.
Rule = Annotated[
    HoursRule
    | QuietHoursRule
    | NoticeRule
    | DurationRule
    | OneToOneRule
    | GroupSizeRule
    | SecondAdultRule
    | ConsentRule
    | StaffAccountRule
    | InviteRule
    | CopySltRule
    | TellParentsRule
    | RecordingRule
    | ChatRule
    | LobbyRule
    | PresentersRule
    | MicrophoneRule
    | CameraRule
    | BreachRule
    | ConcernRouteRule,
    Field(discriminator="kind"),
]

RULE_CLASSES: tuple[type[RuleBase], ...] = get_args(get_args(Rule)[0])

#: Each kind's name as written in a profile, to its class.
KINDS: dict[str, type[RuleBase]] = {cls.kind_name(): cls for cls in RULE_CLASSES}

#: Kinds a profile may hold at most once (two would contradict each other).
SINGLE_KINDS = frozenset(k for k, cls in KINDS.items() if cls.single)
