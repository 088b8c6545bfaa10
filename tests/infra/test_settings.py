"""Where the school config comes from in a deployment (an app setting, not a file in the package),
and the store settings a deployment chooses between."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bot.config import EXAMPLE_CONFIG, Settings
from bot.errors import ConfigError

TOML = EXAMPLE_CONFIG.read_text(encoding="utf-8")


def test_config_from_the_app_setting_wins_over_the_file(tmp_path: Path) -> None:
    other = tmp_path / "chaperone.toml"
    other.write_text(TOML.replace("Oakfield Primary (example)", "Elsewhere (example)"), encoding="utf-8")
    s = Settings.from_env({"CHAPERONE_CONFIG": str(other), "CHAPERONE_CONFIG_TOML": TOML})
    assert s.school_config().school.name == "Oakfield Primary (example)" and s.config_source == "CHAPERONE_CONFIG_TOML"
    assert Settings.from_env({"CHAPERONE_CONFIG": str(other)}).school_config().school.name == "Elsewhere (example)"


def test_config_in_base64_for_one_line_editors() -> None:
    encoded = "base64:" + base64.b64encode(TOML.replace("Oakfield", "Ysgol Ŵ").encode()).decode()
    assert Settings.from_env({"CHAPERONE_CONFIG_TOML": encoded}).school_config().school.name.startswith("Ysgol Ŵ")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("base64:not base64!", "base64"),
        ("[school]\nname = ", "CHAPERONE_CONFIG_TOML is not valid TOML"),
        ('[school]\nname = "X"\n', "CHAPERONE_CONFIG_TOML is not a valid school config"),
    ],
)
def test_a_broken_config_setting_is_a_clear_error(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({"CHAPERONE_CONFIG_TOML": value}).school_config()


def test_tables_take_an_endpoint_or_a_connection_string() -> None:
    s = Settings.from_env(
        {
            "CHAPERONE_STORE": "tables",
            "CHAPERONE_TABLES_ENDPOINT": "https://a.table.core.windows.net/",
            "AZURE_CLIENT_ID": "cid",
        }
    )
    assert (s.tables_endpoint, s.azure_client_id, s.tables_connection_string) == (
        "https://a.table.core.windows.net/",
        "cid",
        "",
    )
    assert Settings.from_env(
        {"CHAPERONE_STORE": "tables", "CHAPERONE_TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true"}
    ).tables_connection_string
    assert (
        Settings.from_env({"CHAPERONE_GRAPH_CREDENTIAL": "managed-identity", "AZURE_CLIENT_ID": "cid"}).meetings
        == "graph"
    )
