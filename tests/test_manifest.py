"""The Teams app package: schema v1.22, icons of the right size, the command menu from the router."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from bot.commands.registry import build_router
from bot.errors import ConfigError
from bot.manifest import build_manifest, build_package, main
from tests.support.schemas import SCHEMAS

ENV = {"MICROSOFT_APP_ID": "11111111-2222-3333-4444-555555555555", "CHAPERONE_BOT_DOMAIN": "chaperone.example.org"}


def test_manifest_validates_against_v1_22() -> None:
    schema = json.loads(
        (SCHEMAS / "teams-manifest" / "v1.22" / "MicrosoftTeams.schema.json").read_text(encoding="utf-8")
    )
    manifest = build_manifest(ENV)
    errors = sorted(Draft4Validator(schema).iter_errors(manifest), key=str)
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]
    bot = manifest["bots"][0]
    assert bot["botId"] == ENV["MICROSOFT_APP_ID"] and set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert manifest["validDomains"] == ["chaperone.example.org"]


def test_every_command_is_on_a_menu_and_every_menu_item_is_a_command() -> None:
    routed = set(build_router().commands)
    listed = {c["title"] for lst in build_manifest(ENV)["bots"][0]["commandLists"] for c in lst["commands"]}
    assert listed == routed
    team = next(lst for lst in build_manifest(ENV)["bots"][0]["commandLists"] if lst["scopes"] == ["team"])
    assert "setup" in {c["title"] for c in team["commands"]}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_package_has_exactly_the_manifest_and_two_icons(tmp_path: Path) -> None:
    out = build_package(tmp_path / "app.zip", ENV)
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert _png_size(z.read("color.png")) == (192, 192)
        assert _png_size(z.read("outline.png")) == (32, 32)
        assert json.load(io.BytesIO(z.read("manifest.json")))["id"]


@pytest.mark.parametrize(
    "env", [{}, {"MICROSOFT_APP_ID": "not-a-guid"}, {**ENV, "CHAPERONE_BOT_DOMAIN": "https://x.example.org/"}]
)
def test_bad_environment_is_a_clear_error(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        build_manifest(env)


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    assert main(["--out", str(tmp_path / "a.zip")]) == 2
    assert "MICROSOFT_APP_ID" in capsys.readouterr().err
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert main(["--out", str(tmp_path / "a.zip")]) == 0 and (tmp_path / "a.zip").exists()


def test_outline_icon_is_white_on_transparent() -> None:
    import zlib

    from bot.manifest import MANIFEST_DIR

    data = (MANIFEST_DIR / "outline.png").read_bytes()
    w, h = _png_size(data)
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    stride = 1 + w * 4
    pixels = {tuple(raw[y * stride + 1 + x * 4 : y * stride + 5 + x * 4]) for y in range(h) for x in range(w)}
    assert raw[0] == 0 and pixels == {(255, 255, 255, 255), (0, 0, 0, 0)}
