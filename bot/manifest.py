"""Build the Teams app package (manifest.json + icons, zipped) from the template and the environment.

    .venv/bin/python -m bot.manifest [--out manifest/build/chaperone.zip] [--app-id ID] [--domain HOST]
        [--publisher-name NAME] [--website-url URL] [--privacy-url URL] [--terms-url URL]

Options win over the environment: MICROSOFT_APP_ID (the Azure Bot's app id, required),
CHAPERONE_BOT_DOMAIN (the bot's public host name), CHAPERONE_PUBLISHER_NAME and
CHAPERONE_PUBLISHER_URL (the school or trust and its website), CHAPERONE_PRIVACY_URL and
CHAPERONE_TERMS_URL (default: the website's /privacy and /terms), CHAPERONE_TEAMS_APP_ID
(default: derived from the bot id), CHAPERONE_APP_VERSION. The deployment template's outputs
carry these values (infra/README.md). The command menu is generated from the registered
commands, so it cannot drift from the bot.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot import PROJECT_ROOT, __version__
from bot.errors import ConfigError

MANIFEST_DIR = PROJECT_ROOT / "manifest"
_PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: Which commands appear in which scope's command menu (Teams allows 10 per list).
SCOPES: dict[str, tuple[str, ...]] = {
    "personal": ("help", "book", "end", "concern", "join-as-second", "today", "chronology"),
    "team": ("help", "book", "concern", "join-as-second", "today", "setup"),
    "groupChat": ("help", "book", "concern"),
}


def command_lists() -> list[dict[str, Any]]:
    from bot.commands.registry import build_router

    commands = build_router().commands
    return [
        {
            "scopes": [scope],
            "commands": [{"title": name, "description": commands[name].summary[:4000]} for name in names],
        }
        for scope, names in SCOPES.items()
    ]


def values_from(env: Mapping[str, str]) -> dict[str, str]:
    app_id = env.get("MICROSOFT_APP_ID", "").strip()
    if not _GUID.match(app_id):
        raise ConfigError("MICROSOFT_APP_ID must be the Azure Bot's app id (a GUID) to build the Teams app package.")
    domain = env.get("CHAPERONE_BOT_DOMAIN", "").strip() or "chaperone.example.org"
    if "/" in domain or ":" in domain:
        raise ConfigError("CHAPERONE_BOT_DOMAIN is a host name only, e.g. chaperone.example.org.")
    website = (env.get("CHAPERONE_PUBLISHER_URL") or "https://www.example.org/chaperone").rstrip("/")
    urls = {
        "PUBLISHER_URL": website,
        "PRIVACY_URL": env.get("CHAPERONE_PRIVACY_URL") or f"{website}/privacy",
        "TERMS_URL": env.get("CHAPERONE_TERMS_URL") or f"{website}/terms",
    }
    for name, url in urls.items():
        if not url.startswith("https://") or " " in url:
            raise ConfigError(f"The {name.split('_')[0].lower()} address must be an https:// URL, not {url!r}.")
    return {
        "MICROSOFT_APP_ID": app_id,
        "TEAMS_APP_ID": env.get("CHAPERONE_TEAMS_APP_ID") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaperone:{app_id}")),
        "VERSION": env.get("CHAPERONE_APP_VERSION") or __version__,
        "BOT_DOMAIN": domain,
        "PUBLISHER_NAME": env.get("CHAPERONE_PUBLISHER_NAME") or "Chaperone",
        **urls,
    }


def build_manifest(env: Mapping[str, str]) -> dict[str, Any]:
    values = values_from(env)
    text = (MANIFEST_DIR / "manifest.template.json").read_text(encoding="utf-8")
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ConfigError(f"No value for {', '.join(missing)} in the manifest template.")
    manifest: dict[str, Any] = json.loads(_PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], text))
    manifest["bots"][0]["commandLists"] = command_lists()
    return manifest


def build_package(out: Path, env: Mapping[str, str]) -> Path:
    manifest = build_manifest(env)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        z.write(MANIFEST_DIR / "color.png", "color.png")
        z.write(MANIFEST_DIR / "outline.png", "outline.png")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bot.manifest", description="Build the Teams app package.")
    ap.add_argument("--out", default=str(MANIFEST_DIR / "build" / "chaperone.zip"))
    for flag, name in _OPTIONS.items():
        ap.add_argument(flag, dest=name, metavar=flag.lstrip("-").split("-")[-1].upper(), help=f"overrides {name}")
    args = ap.parse_args(argv)
    env = {**os.environ, **{name: value for name, value in vars(args).items() if name in _OPTIONS.values() and value}}
    try:
        path = build_package(Path(args.out), env)
    except ConfigError as exc:
        print(f"chaperone: {exc}", file=sys.stderr)
        return 2
    placeholders = [
        name
        for name in ("CHAPERONE_BOT_DOMAIN", "CHAPERONE_PUBLISHER_NAME", "CHAPERONE_PUBLISHER_URL")
        if not env.get(name)
    ]
    if placeholders:
        print(
            f"chaperone: no {', '.join(placeholders)}: the package carries example values (fine for the simulator, not for a school).",
            file=sys.stderr,
        )
    print(f"wrote {path}")
    return 0


#: Command-line options and the environment names they override.
_OPTIONS = {
    "--app-id": "MICROSOFT_APP_ID",
    "--domain": "CHAPERONE_BOT_DOMAIN",
    "--publisher-name": "CHAPERONE_PUBLISHER_NAME",
    "--website-url": "CHAPERONE_PUBLISHER_URL",
    "--privacy-url": "CHAPERONE_PRIVACY_URL",
    "--terms-url": "CHAPERONE_TERMS_URL",
}


if __name__ == "__main__":
    raise SystemExit(main())
