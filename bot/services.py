"""The composition root's product: everything a command may use, built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.audit import Audit
from bot.chat import Messenger
from bot.clock import Clock, SystemClock
from bot.concerns.repo import Concerns
from bot.config import SchoolConfig, Settings
from bot.consent import ConsentRegistry
from bot.meetings.provider import MeetingProvider
from bot.outbox import Outbox, default_outbox
from bot.policy.loader import bundled, load_profile_file
from bot.policy.model import Profile
from bot.roles import Directory, SeenPeople
from bot.sessions.repo import Sessions
from bot.store.base import Store
from bot.tasks import Tasks


@dataclass
class Services:
    settings: Settings
    school: SchoolConfig
    profile: Profile
    store: Store
    meetings: MeetingProvider
    messenger: Messenger
    clock: Clock = field(default_factory=SystemClock)
    tasks: Tasks = field(default_factory=Tasks)
    #: Entra group membership for roles (Graph); None where no group is configured.
    directory: Directory | None = None
    outbox: Outbox = field(default_factory=default_outbox)
    #: People records this process knows are stored as they are (bot.roles.remember skips those).
    seen_people: SeenPeople = field(default_factory=SeenPeople)
    #: Seconds between attempts at a session's meeting while Microsoft Graph fails: these in turn,
    #: then the last (the cap) until the meeting is ready, the session is cancelled or it starts.
    meeting_retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0)

    @property
    def sessions(self) -> Sessions:
        return Sessions(self.store)

    @property
    def consents(self) -> ConsentRegistry:
        return ConsentRegistry(self.store)

    @property
    def concerns(self) -> Concerns:
        return Concerns(self.store)

    @property
    def audit(self) -> Audit:
        return Audit(self.store)

    @property
    def timezone(self) -> str:
        return self.school.school.timezone or self.profile.timezone


def profile_for(school: SchoolConfig) -> Profile:
    """The school's own profile file if it names one, else the bundled profile it chose."""
    if school.school.profile_file:
        return load_profile_file(school.school.profile_file)
    return bundled(school.school.profile)
