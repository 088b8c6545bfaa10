"""What Chaperone says when its configuration, policy profile or consent file is wrong (read by the admin)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# The school config and the environment (bot/config.py)


def config_unreadable(path: Path | str, error: object) -> str:
    return f"Cannot read the school config {path}: {error}."


def config_not_toml(origin: str, error: object) -> str:
    return f"{origin} is not valid TOML: {error}."


def config_invalid(origin: str, problems: str) -> str:
    return f"{origin} is not a valid school config: {problems}."


def config_no_tenant(path: Path | str) -> str:
    """``path``: the school config's file, or "" when it came from the environment."""
    return f"{path or 'The school config'} names no tenant: set [school] tenant_id (or tenant_ids) to the school's Microsoft 365 tenant id."


CONFIG_TOML_NOT_BASE64 = "CHAPERONE_CONFIG_TOML starts with base64: but the rest is not base64 of UTF-8 text."


def meetings_setting(value: str) -> str:
    return f"CHAPERONE_MEETINGS must be 'graph' or 'local', not {value!r}."


def store_setting(value: str) -> str:
    return f"CHAPERONE_STORE must be 'tinydb' or 'tables', not {value!r}."


TABLES_NEED_ADDRESS = (
    "CHAPERONE_STORE=tables needs CHAPERONE_TABLES_ENDPOINT (managed identity) or CHAPERONE_TABLES_CONNECTION_STRING."
)
PORT_NOT_NUMBER = "PORT must be a number."

# Microsoft Graph credentials (bot/meetings/)

GRAPH_NOT_LOADED = "CHAPERONE_MEETINGS=graph, but the Graph provider could not be loaded."
GRAPH_IDENTITY_NEEDS_CLIENT = (
    "CHAPERONE_GRAPH_CREDENTIAL=managed-identity needs AZURE_CLIENT_ID, the user-assigned identity's client id."
)
GRAPH_NEEDS_CREDENTIAL = (
    "CHAPERONE_MEETINGS=graph needs CHAPERONE_GRAPH_CREDENTIAL=managed-identity, or CHAPERONE_GRAPH_TENANT_ID, "
    "CHAPERONE_GRAPH_CLIENT_ID and a CHAPERONE_GRAPH_CLIENT_SECRET or CHAPERONE_GRAPH_CERTIFICATE_PATH."
)


def graph_certificate_missing(path: str) -> str:
    return (
        f"CHAPERONE_GRAPH_CERTIFICATE_PATH names {path}, which is not a readable file: "
        "put the Graph app's certificate (PEM or PKCS12) there, or correct the path."
    )


def graph_credential_setting(value: str) -> str:
    return f"CHAPERONE_GRAPH_CREDENTIAL must be managed-identity, certificate or secret, not {value!r}."


# Policy profiles (bot/policy/loader.py)


def profile_invalid(path: str, lines: str) -> str:
    return f"{path} is not a valid policy profile:\n{lines}"


PROFILE_UNKNOWN_KEY = "unknown key (check the spelling)"
PROFILE_NO_KIND = "rule has no 'kind'"


def profile_unknown_kind(kinds: Iterable[str]) -> str:
    return f"unknown rule kind; expected one of: {', '.join(sorted(kinds))}"


def profile_not_toml(error: object) -> str:
    return f"not valid TOML ({error})"


def profile_unreadable(path: Path | str, error: object) -> str:
    return f"Cannot read the profile {path}: {error}."


def no_bundled_profile(profile_id: str) -> str:
    return f"There is no bundled policy profile {profile_id!r}."


def choose_profile(ids: Iterable[str]) -> str:
    return f"Choose one of: {', '.join(ids)}."


# The consent file (bot/consent.py)

CONSENT_FILE_INVALID = "The consent file has problems; nothing was imported:\n"
CONSENT_FILE_HINT = "Fix each line listed and import the whole file again."
CONSENT_TOO_MANY_VALUES = "more values than columns"
CONSENT_VALUE = "consent must be 'signed' or 'implied' (use 'none' to record a refusal)"


def consent_repeated(pupil: str, line: int) -> str:
    return f"{pupil} is already on line {line}"


MAX_TURNS_NOT_NUMBER = "CHAPERONE_MAX_TURNS must be a number."
NO_APP_ID = "MICROSOFT_APP_ID is empty: set it (production), or set CHAPERONE_LOCAL=1 to run locally without authentication on 127.0.0.1"
LOCAL_AND_APP_ID = "CHAPERONE_LOCAL=1 and MICROSOFT_APP_ID are both set: unset one of them"
NO_APP_TENANT = "MICROSOFT_APP_TENANT_ID is missing (the tenant of the bot's app registration)"
NO_APP_PASSWORD = "MICROSOFT_APP_PASSWORD is missing (the client secret of the bot's app registration)"


def secrets_without_app_id(secrets: list[str]) -> str:
    verb = "is" if len(secrets) == 1 else "are"
    return f"MICROSOFT_APP_ID is empty but {' and '.join(secrets)} {verb} set: set MICROSOFT_APP_ID, or unset them for local mode"


def app_type_wrong(app_type: str) -> str:
    return f"MICROSOFT_APP_TYPE must be SingleTenant or UserAssignedMSI, not {app_type!r}"


def will_not_start(problems: list[str]) -> str:
    return "Chaperone will not start: " + "; ".join(problems) + "."
