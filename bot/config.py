"""Settings: the environment (configuration contract in DESIGN.md) and the school's TOML config."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError
from bot.policy.model import Weekday

EXAMPLE_CONFIG = Path(__file__).resolve().parent / "example" / "chaperone.toml"

DEFAULT_CONCERN_CATEGORIES = (
    "Online conduct",
    "Disclosure",
    "Inappropriate content",
    "Parent or household conduct",
    "Welfare",
    "Other",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolHours(_Strict):
    """The school's own hours; they narrow (never widen) a profile's hours rule."""

    days: tuple[Weekday, ...] = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
    start: time
    end: time


class School(_Strict):
    name: str = Field(min_length=1)
    #: The school's Microsoft 365 tenant; `tenant_ids` adds more (a trust's schools). Only these get a turn.
    tenant_id: str = ""
    tenant_ids: tuple[str, ...] = ()
    profile: str = "000-two-staff"
    #: A school's own profile file (checked with `chaperone policy check`); overrides `profile`.
    profile_file: str | None = None
    timezone: str | None = None
    staff_domains: tuple[str, ...] = Field(min_length=1)
    pupil_domains: tuple[str, ...] = ()
    hours: SchoolHours | None = None

    @field_validator("staff_domains", "pupil_domains")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower().lstrip("@") for d in v)

    @property
    def allowed_tenants(self) -> frozenset[str]:
        """Every tenant whose activities get a turn (compared case-insensitively, as GUIDs)."""
        return frozenset(t.strip().lower() for t in (self.tenant_id, *self.tenant_ids) if t.strip())


class Roles(_Strict):
    """Who holds each role, by email / UPN or AAD object id (case-insensitive)."""

    admin: tuple[str, ...] = ()
    slt: tuple[str, ...] = ()
    dsl: tuple[str, ...] = ()


class SecondAdult(_Strict):
    """When an unanswered second-adult request escalates (minutes)."""

    remind_after_minutes: int = Field(default=60, ge=1)
    give_up_before_start_minutes: int = Field(default=30, ge=0)


class Concerns(_Strict):
    categories: tuple[str, ...] = DEFAULT_CONCERN_CATEGORIES
    #: An unacknowledged alert is raised again in the safeguarding channel after this many minutes.
    escalate_after_minutes: int = Field(default=60, ge=1)
    escalate_urgent_after_minutes: int = Field(default=10, ge=1)


class SchoolConfig(_Strict):
    school: School
    roles: Roles = Roles()
    concerns: Concerns = Concerns()
    second_adult: SecondAdult = SecondAdult()
    path: str = ""

    def roles_of(self, *ids: str | None) -> frozenset[str]:
        """The roles held by a person known by any of these ids (email, UPN, AAD object id)."""
        keys = {i.strip().casefold() for i in ids if i}
        held = set()
        for role in ("admin", "slt", "dsl"):
            if keys & {m.casefold() for m in getattr(self.roles, role)}:
                held.add(role)
        if any(self.is_staff_email(i) for i in ids if i) or held:
            held.add("staff")
        return frozenset(held)

    def is_staff_email(self, email: str | None) -> bool:
        return bool(email) and email.rsplit("@", 1)[-1].lower() in self.school.staff_domains  # type: ignore[union-attr]

    def is_pupil_email(self, email: str | None) -> bool:
        return bool(email) and email.rsplit("@", 1)[-1].lower() in self.school.pupil_domains  # type: ignore[union-attr]


def load_school_config(path: Path | str) -> SchoolConfig:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the school config {p}: {exc.strerror}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}.") from exc
    try:
        return SchoolConfig.model_validate({**data, "path": str(p)})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{p} is not a valid school config: {problems}.") from exc


APP_TYPES = ("SingleTenant", "UserAssignedMSI")
BOTFRAMEWORK_OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ENTRA_LOGIN_URL = "https://login.microsoftonline.com"


def _local_from_env() -> bool:
    return os.environ.get("CHAPERONE_LOCAL", "") == "1"


@dataclass(frozen=True)
class Settings:
    """The process environment, read once at start-up (see the README's configuration table)."""

    app_id: str = ""
    app_password: str = ""
    app_type: str = "SingleTenant"
    app_tenant_id: str = ""
    config_path: Path = EXAMPLE_CONFIG
    data_dir: Path = Path("data")
    meetings: Literal["graph", "local"] = "local"
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    port: int = 3978
    store: Literal["tinydb", "tables"] = "tinydb"
    tables_connection_string: str = ""
    #: CHAPERONE_LOCAL=1: no app id, no authentication, loopback only (the simulator and the tests).
    local: bool = field(default_factory=_local_from_env)
    #: Where the identity metadata lives (overridable for a loopback identity stand-in in tests/benches).
    botframework_openid_url: str = BOTFRAMEWORK_OPENID_URL
    entra_login_url: str = ENTRA_LOGIN_URL
    #: Seconds one identity fetch may take before a request waiting for it gets a 503.
    identity_timeout: float = 5.0
    #: At most this many /api/messages requests in progress at once, the rest wait their turn in
    #: order (0: no limit); CHAPERONE_MAX_TURNS. 16 kept the longest event-loop stall of a
    #: 200-submit burst under 10 ms (bench/production.py) with the same total time.
    max_turns: int = 16

    @property
    def local_mode(self) -> bool:
        return not self.app_id

    @property
    def listen_host(self) -> str:
        """Local mode listens on loopback only; with an app id, on every interface."""
        return "127.0.0.1" if self.local_mode else "0.0.0.0"

    def transport_problems(self) -> list[str]:
        """What is missing or contradictory for serving Teams (empty = fine). Fail closed: no app id
        means local mode only when asked for, and an app id needs a single tenant and its credential."""
        if not self.app_id:
            secrets = [n for n, v in (("MICROSOFT_APP_PASSWORD", self.app_password), ("MICROSOFT_APP_TENANT_ID", self.app_tenant_id)) if v]
            if secrets:
                return [f"MICROSOFT_APP_ID is empty but {' and '.join(secrets)} {'is' if len(secrets) == 1 else 'are'} set: set MICROSOFT_APP_ID, or unset them for local mode"]
            if not self.local:
                return ["MICROSOFT_APP_ID is empty: set it (production), or set CHAPERONE_LOCAL=1 to run locally without authentication on 127.0.0.1"]
            return []
        problems = []
        if self.local:
            problems.append("CHAPERONE_LOCAL=1 and MICROSOFT_APP_ID are both set: unset one of them")
        if self.app_type not in APP_TYPES:
            problems.append(f"MICROSOFT_APP_TYPE must be SingleTenant or UserAssignedMSI, not {self.app_type!r}")
        if not self.app_tenant_id:
            problems.append("MICROSOFT_APP_TENANT_ID is missing (the tenant of the bot's app registration)")
        if self.app_type == "SingleTenant" and not self.app_password:
            problems.append("MICROSOFT_APP_PASSWORD is missing (the client secret of the bot's app registration)")
        return problems

    def check_transport(self) -> None:
        """Refuse to start on a half configuration, naming what is missing."""
        problems = self.transport_problems()
        if problems:
            raise ConfigError("Chaperone will not start: " + "; ".join(problems) + ".")

    def __repr__(self) -> str:  # never print the secrets
        return f"Settings(app_id={self.app_id!r}, meetings={self.meetings!r}, store={self.store!r}, port={self.port})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        config = env.get("CHAPERONE_CONFIG") or ("chaperone.toml" if Path("chaperone.toml").is_file() else str(EXAMPLE_CONFIG))
        graph_creds = bool(env.get("CHAPERONE_GRAPH_CLIENT_SECRET") or env.get("CHAPERONE_GRAPH_CERTIFICATE_PATH"))
        meetings = env.get("CHAPERONE_MEETINGS") or ("graph" if graph_creds else "local")
        if meetings not in ("graph", "local"):
            raise ConfigError(f"CHAPERONE_MEETINGS must be 'graph' or 'local', not {meetings!r}.")
        store = env.get("CHAPERONE_STORE") or "tinydb"
        if store not in ("tinydb", "tables"):
            raise ConfigError(f"CHAPERONE_STORE must be 'tinydb' or 'tables', not {store!r}.")
        if store == "tables" and not env.get("CHAPERONE_TABLES_CONNECTION_STRING"):
            raise ConfigError("CHAPERONE_STORE=tables needs CHAPERONE_TABLES_CONNECTION_STRING.")
        try:
            port = int(env.get("PORT") or 3978)
        except ValueError as exc:
            raise ConfigError("PORT must be a number.") from exc
        try:
            max_turns = int(env.get("CHAPERONE_MAX_TURNS") or 16)
        except ValueError as exc:
            raise ConfigError("CHAPERONE_MAX_TURNS must be a number.") from exc
        return cls(
            app_id=env.get("MICROSOFT_APP_ID", ""),
            app_password=env.get("MICROSOFT_APP_PASSWORD", ""),
            app_type=env.get("MICROSOFT_APP_TYPE", "") or "SingleTenant",
            app_tenant_id=env.get("MICROSOFT_APP_TENANT_ID", ""),
            config_path=Path(config),
            data_dir=Path(env.get("CHAPERONE_DATA_DIR") or "data"),
            meetings=meetings,  # type: ignore[arg-type]
            graph_base_url=env.get("CHAPERONE_GRAPH_BASE_URL") or "https://graph.microsoft.com/v1.0",
            port=port,
            store=store,  # type: ignore[arg-type]
            tables_connection_string=env.get("CHAPERONE_TABLES_CONNECTION_STRING", ""),
            local=env.get("CHAPERONE_LOCAL", "") == "1",
            botframework_openid_url=env.get("CHAPERONE_BOTFRAMEWORK_OPENID_URL") or BOTFRAMEWORK_OPENID_URL,
            entra_login_url=env.get("CHAPERONE_ENTRA_LOGIN_URL") or ENTRA_LOGIN_URL,
            max_turns=max_turns,
        )
