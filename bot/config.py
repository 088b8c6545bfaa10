"""Settings: the environment (configuration contract in DESIGN.md) and the school's TOML config."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
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
    tenant_id: str = ""
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


def graph_credentials_set(env: Mapping[str, str]) -> bool:
    """The README's rule for CHAPERONE_MEETINGS's default: a Graph secret or certificate, or the
    documented fall-back to the bot's MICROSOFT_APP_* credentials when they name a tenant (single tenant)."""
    own = env.get("CHAPERONE_GRAPH_CLIENT_SECRET") or env.get("CHAPERONE_GRAPH_CERTIFICATE_PATH")
    fallback = env.get("MICROSOFT_APP_PASSWORD") and (env.get("CHAPERONE_GRAPH_CLIENT_ID") or env.get("MICROSOFT_APP_ID")) and (env.get("CHAPERONE_GRAPH_TENANT_ID") or env.get("MICROSOFT_APP_TENANT_ID"))
    return bool(own or fallback)


@dataclass(frozen=True)
class Settings:
    """The process environment, read once at start-up (see the README's configuration table)."""

    app_id: str = ""
    app_password: str = ""
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    config_path: Path = EXAMPLE_CONFIG
    data_dir: Path = Path("data")
    meetings: Literal["graph", "local"] = "local"
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    port: int = 3978
    store: Literal["tinydb", "tables"] = "tinydb"
    tables_connection_string: str = ""

    @property
    def local_mode(self) -> bool:
        return not self.app_id

    def __repr__(self) -> str:  # never print the secrets
        return f"Settings(app_id={self.app_id!r}, meetings={self.meetings!r}, store={self.store!r}, port={self.port})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        config = env.get("CHAPERONE_CONFIG") or ("chaperone.toml" if Path("chaperone.toml").is_file() else str(EXAMPLE_CONFIG))
        graph_creds = graph_credentials_set(env)
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
        return cls(
            app_id=env.get("MICROSOFT_APP_ID", ""),
            app_password=env.get("MICROSOFT_APP_PASSWORD", ""),
            app_type=env.get("MICROSOFT_APP_TYPE", "") or "MultiTenant",
            app_tenant_id=env.get("MICROSOFT_APP_TENANT_ID", ""),
            config_path=Path(config),
            data_dir=Path(env.get("CHAPERONE_DATA_DIR") or "data"),
            meetings=meetings,  # type: ignore[arg-type]
            graph_base_url=env.get("CHAPERONE_GRAPH_BASE_URL") or "https://graph.microsoft.com/v1.0",
            port=port,
            store=store,  # type: ignore[arg-type]
            tables_connection_string=env.get("CHAPERONE_TABLES_CONNECTION_STRING", ""),
        )
