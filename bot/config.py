"""Settings: the environment (configuration contract in DESIGN.md) and the school's TOML config."""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError
from bot.policy.facts import Hours, PolicyFacts, Weekday
from bot.texts import setup as setup_texts

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
    """Who holds each role: Entra group object ids (``*_group``), else listed AAD object ids; an email
    or UPN in a list is only a break-glass fallback, honoured for the school's own tenant (bot.roles)."""

    admin: tuple[str, ...] = ()
    slt: tuple[str, ...] = ()
    dsl: tuple[str, ...] = ()
    dsl_deputy: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    chair: tuple[str, ...] = ()
    #: Entra group object ids whose transitive members hold the role (GroupMember.Read.All).
    admin_group: str = ""
    slt_group: str = ""
    dsl_group: str = ""
    dsl_deputy_group: str = ""
    head_group: str = ""
    chair_group: str = ""

    def members(self, role: str) -> tuple[str, ...]:
        return tuple(getattr(self, role, ()))

    def group(self, role: str) -> str:
        return str(getattr(self, f"{role}_group", "") or "")


class SecondAdult(_Strict):
    """When an unanswered second-adult request escalates (minutes)."""

    remind_after_minutes: int = Field(default=60, ge=1)
    give_up_before_start_minutes: int = Field(default=30, ge=0)


class Concerns(_Strict):
    categories: tuple[str, ...] = DEFAULT_CONCERN_CATEGORIES
    #: An unacknowledged alert is raised again in the safeguarding channel after this many minutes.
    escalate_after_minutes: int = Field(default=60, ge=1)
    escalate_urgent_after_minutes: int = Field(default=10, ge=1)
    #: An immediate-risk concern is sent again personally this often until someone acknowledges.
    repeat_urgent_every_minutes: int = Field(default=5, ge=1)


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

    def policy_facts(self) -> PolicyFacts:
        """What the rules engine needs to know about this school."""
        h = self.school.hours
        return PolicyFacts(
            staff_domains=self.school.staff_domains,
            pupil_domains=self.school.pupil_domains,
            slt=self.roles.slt,
            timezone=self.school.timezone,
            hours=Hours(days=h.days, start=h.start, end=h.end) if h else None,
            source=self.path or "school config",
        )

    def is_staff_email(self, email: str | None) -> bool:
        return bool(email) and email.rsplit("@", 1)[-1].lower() in self.school.staff_domains  # type: ignore[union-attr]

    def is_pupil_email(self, email: str | None) -> bool:
        return bool(email) and email.rsplit("@", 1)[-1].lower() in self.school.pupil_domains  # type: ignore[union-attr]


def load_school_config(path: Path | str) -> SchoolConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(setup_texts.config_unreadable(p, exc.strerror)) from exc
    return parse_school_config(text, str(p))


def parse_school_config(text: str, origin: str) -> SchoolConfig:
    """The school config from TOML text; ``origin`` names where it came from in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(setup_texts.config_not_toml(origin, exc)) from exc
    try:
        return SchoolConfig.model_validate({**data, "path": origin})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(setup_texts.config_invalid(origin, problems)) from exc


def config_toml_text(value: str) -> str:
    """CHAPERONE_CONFIG_TOML's TOML: the text itself, or ``base64:`` and the UTF-8 text in base64
    (App Service's portal edits one-line values)."""
    if not value.startswith("base64:"):
        return value
    try:
        return base64.b64decode(value[len("base64:") :], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ConfigError(setup_texts.CONFIG_TOML_NOT_BASE64) from exc


#: Every environment variable (App Service app setting) Chaperone reads, with what it means: the
#: configuration contract. ``Settings.from_env`` reads only these (``_read`` refuses others);
#: tests/infra checks the deployment template sets only these (or platform settings) and sets every
#: name in PRODUCTION_SETTINGS. The CHAPERONE_GRAPH_* credentials are read by bot.meetings.graph.
ENV_SETTINGS: dict[str, str] = {
    "MICROSOFT_APP_ID": "the Azure Bot's app id (with UserAssignedMSI: the managed identity's client id); empty = local mode",
    "MICROSOFT_APP_PASSWORD": "the bot's client secret (SingleTenant only; none with UserAssignedMSI)",
    "MICROSOFT_APP_TYPE": "SingleTenant or UserAssignedMSI (new multi-tenant bots are refused)",
    "MICROSOFT_APP_TENANT_ID": "the school's tenant id (SingleTenant, UserAssignedMSI)",
    "CHAPERONE_LOCAL": "1 to allow local mode (no app id, authentication off)",
    "CHAPERONE_CONFIG": "path of the school's TOML config",
    "CHAPERONE_CONFIG_TOML": "the school's TOML config itself (or base64: and its base64); wins over CHAPERONE_CONFIG",
    "CHAPERONE_DATA_DIR": "where the embedded store keeps its files",
    "CHAPERONE_MEETINGS": "graph or local",
    "CHAPERONE_GRAPH_BASE_URL": "the Microsoft Graph root",
    "CHAPERONE_GRAPH_CREDENTIAL": "how Graph is called: managed-identity, certificate or secret (default: what is set)",
    "CHAPERONE_GRAPH_TENANT_ID": "the Graph app's tenant (certificate / secret)",
    "CHAPERONE_GRAPH_CLIENT_ID": "the Graph app's client id (certificate / secret)",
    "CHAPERONE_GRAPH_CLIENT_SECRET": "the Graph app's client secret",
    "CHAPERONE_GRAPH_CERTIFICATE_PATH": "the Graph app's certificate (PEM or PKCS12 file)",
    "PORT": "HTTP port of `chaperone serve` (gunicorn binds its own)",
    "CHAPERONE_STORE": "tinydb or tables",
    "CHAPERONE_TABLES_CONNECTION_STRING": "Azure Table Storage connection string (Azurite / development)",
    "CHAPERONE_TABLES_ENDPOINT": "Azure Table Storage endpoint, reached with a managed identity (no key)",
    "AZURE_CLIENT_ID": "the user-assigned managed identity's client id (Table Storage, Graph)",
    "CHAPERONE_SLT_GROUP_ID": "object id of the Entra group of senior leaders",
    "CHAPERONE_DSL_GROUP_ID": "object id of the Entra group of designated safeguarding leads",
    "CHAPERONE_ADMIN_GROUP_ID": "object id of the Entra group of Chaperone admins",
    "CHAPERONE_MAX_TURNS": "at most this many /api/messages requests in progress at once (0: no limit)",
    "CHAPERONE_BOTFRAMEWORK_OPENID_URL": "Bot Framework OpenID metadata URL (a loopback stand-in in tests and benches)",
    "CHAPERONE_ENTRA_LOGIN_URL": "Microsoft Entra login root (a loopback stand-in in tests and benches)",
}

#: What a production deployment in Azure (infra/azuredeploy.json) must set.
PRODUCTION_SETTINGS: tuple[str, ...] = (
    "MICROSOFT_APP_ID",
    "MICROSOFT_APP_TYPE",
    "MICROSOFT_APP_TENANT_ID",
    "CHAPERONE_CONFIG_TOML",
    "CHAPERONE_MEETINGS",
    "CHAPERONE_GRAPH_CREDENTIAL",
    "CHAPERONE_STORE",
    "CHAPERONE_TABLES_ENDPOINT",
    "AZURE_CLIENT_ID",
    "CHAPERONE_SLT_GROUP_ID",
    "CHAPERONE_DSL_GROUP_ID",
    "CHAPERONE_ADMIN_GROUP_ID",
)


def _read(env: Mapping[str, str], name: str, default: str = "") -> str:
    if name not in ENV_SETTINGS:
        raise KeyError(f"{name} is not a declared setting (bot.config.ENV_SETTINGS)")
    return env.get(name) or default


def graph_credentials_set(env: Mapping[str, str]) -> bool:
    """The README's rule for CHAPERONE_MEETINGS's default: a Graph secret or certificate, or the
    documented fall-back to the bot's MICROSOFT_APP_* credentials when they name a tenant (single tenant)."""
    own = env.get("CHAPERONE_GRAPH_CLIENT_SECRET") or env.get("CHAPERONE_GRAPH_CERTIFICATE_PATH")
    fallback = (
        env.get("MICROSOFT_APP_PASSWORD")
        and (env.get("CHAPERONE_GRAPH_CLIENT_ID") or env.get("MICROSOFT_APP_ID"))
        and (env.get("CHAPERONE_GRAPH_TENANT_ID") or env.get("MICROSOFT_APP_TENANT_ID"))
    )
    return bool(own or fallback)


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
    #: The settings Graph credentials are built from (CHAPERONE_GRAPH_*, MICROSOFT_APP_*, AZURE_CLIENT_ID), as read.
    graph_env: tuple[tuple[str, str], ...] = ()
    #: Table Storage reached with a token (managed identity), not a key; wins over the connection string.
    tables_endpoint: str = ""
    #: The user-assigned managed identity's client id (empty: DefaultAzureCredential's own choice).
    azure_client_id: str = ""
    #: The school's TOML config given in the environment; wins over ``config_path``.
    config_toml: str = ""
    slt_group_id: str = ""
    dsl_group_id: str = ""
    admin_group_id: str = ""

    def group_id(self, role: str) -> str:
        """The Entra group id the environment gives for a role (it overrides the school config's [roles])."""
        return {"slt": self.slt_group_id, "dsl": self.dsl_group_id, "admin": self.admin_group_id}.get(role, "").strip()

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
            secrets = [
                n
                for n, v in (
                    ("MICROSOFT_APP_PASSWORD", self.app_password),
                    ("MICROSOFT_APP_TENANT_ID", self.app_tenant_id),
                )
                if v
            ]
            if secrets:
                return [setup_texts.secrets_without_app_id(secrets)]
            if not self.local:
                return [setup_texts.NO_APP_ID]
            return []
        problems = []
        if self.local:
            problems.append(setup_texts.LOCAL_AND_APP_ID)
        if self.app_type not in APP_TYPES:
            problems.append(setup_texts.app_type_wrong(self.app_type))
        if not self.app_tenant_id:
            problems.append(setup_texts.NO_APP_TENANT)
        if self.app_type == "SingleTenant" and not self.app_password:
            problems.append(setup_texts.NO_APP_PASSWORD)
        return problems

    def check_transport(self) -> None:
        """Refuse to start on a half configuration, naming what is missing."""
        problems = self.transport_problems()
        if problems:
            raise ConfigError(setup_texts.will_not_start(problems))

    def __repr__(self) -> str:  # never print the secrets
        return f"Settings(app_id={self.app_id!r}, meetings={self.meetings!r}, store={self.store!r}, port={self.port})"

    @property
    def config_source(self) -> str:
        """Where the school config comes from, for logs."""
        return "CHAPERONE_CONFIG_TOML" if self.config_toml else str(self.config_path)

    def school_config(self) -> SchoolConfig:
        """The school's config: CHAPERONE_CONFIG_TOML if set, else the file at ``config_path``."""
        if self.config_toml:
            return parse_school_config(config_toml_text(self.config_toml), "CHAPERONE_CONFIG_TOML")
        return load_school_config(self.config_path)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        config = _read(env, "CHAPERONE_CONFIG") or (
            "chaperone.toml" if Path("chaperone.toml").is_file() else str(EXAMPLE_CONFIG)
        )
        graph_creds = graph_credentials_set(env) or bool(_read(env, "CHAPERONE_GRAPH_CREDENTIAL"))
        meetings = _read(env, "CHAPERONE_MEETINGS") or ("graph" if graph_creds else "local")
        if meetings not in ("graph", "local"):
            raise ConfigError(setup_texts.meetings_setting(meetings))
        store = _read(env, "CHAPERONE_STORE", "tinydb")
        if store not in ("tinydb", "tables"):
            raise ConfigError(setup_texts.store_setting(store))
        if store == "tables" and not (
            _read(env, "CHAPERONE_TABLES_ENDPOINT") or _read(env, "CHAPERONE_TABLES_CONNECTION_STRING")
        ):
            raise ConfigError(setup_texts.TABLES_NEED_ADDRESS)
        try:
            port = int(_read(env, "PORT", "3978"))
        except ValueError as exc:
            raise ConfigError(setup_texts.PORT_NOT_NUMBER) from exc
        try:
            max_turns = int(_read(env, "CHAPERONE_MAX_TURNS") or 16)
        except ValueError as exc:
            raise ConfigError(setup_texts.MAX_TURNS_NOT_NUMBER) from exc
        return cls(
            app_id=_read(env, "MICROSOFT_APP_ID"),
            app_password=_read(env, "MICROSOFT_APP_PASSWORD"),
            app_type=_read(env, "MICROSOFT_APP_TYPE", "SingleTenant"),
            app_tenant_id=_read(env, "MICROSOFT_APP_TENANT_ID"),
            config_path=Path(config),
            data_dir=Path(_read(env, "CHAPERONE_DATA_DIR", "data")),
            meetings=meetings,  # type: ignore[arg-type]
            graph_base_url=_read(env, "CHAPERONE_GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0"),
            port=port,
            store=store,  # type: ignore[arg-type]
            tables_connection_string=_read(env, "CHAPERONE_TABLES_CONNECTION_STRING"),
            graph_env=tuple(
                (n, env[n])
                for n in ENV_SETTINGS
                if n.startswith(("CHAPERONE_GRAPH_", "MICROSOFT_APP_", "AZURE_CLIENT_ID")) and env.get(n)
            ),
            tables_endpoint=_read(env, "CHAPERONE_TABLES_ENDPOINT"),
            azure_client_id=_read(env, "AZURE_CLIENT_ID"),
            config_toml=_read(env, "CHAPERONE_CONFIG_TOML"),
            slt_group_id=_read(env, "CHAPERONE_SLT_GROUP_ID"),
            dsl_group_id=_read(env, "CHAPERONE_DSL_GROUP_ID"),
            admin_group_id=_read(env, "CHAPERONE_ADMIN_GROUP_ID"),
            local=_read(env, "CHAPERONE_LOCAL") == "1",
            botframework_openid_url=_read(env, "CHAPERONE_BOTFRAMEWORK_OPENID_URL") or BOTFRAMEWORK_OPENID_URL,
            entra_login_url=_read(env, "CHAPERONE_ENTRA_LOGIN_URL") or ENTRA_LOGIN_URL,
            max_turns=max_turns,
        )
