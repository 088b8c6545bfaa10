"""Loading profiles from TOML, with every problem reported against its line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.errors import ConfigError, NotFound
from bot.policy.model import KINDS, Profile
from bot.texts import setup as setup_texts

BUNDLED_DIR = Path(__file__).resolve().parent / "profiles"


@dataclass(frozen=True)
class Problem:
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}" if self.line else "file"
        return f"{at}: {self.where}: {self.message}" if self.where else f"{at}: {self.message}"


class ProfileInvalid(ConfigError):
    def __init__(self, path: str, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  {path}: {p}" for p in self.problems)
        super().__init__(setup_texts.profile_invalid(path, lines))


_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.]+)\s*\]\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.]+)\s*\]\s*(#.*)?$")


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """Best line number (1-based) for a pydantic error location in a TOML document."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    path = [p for p in loc if not (isinstance(p, str) and p in _UNION_TAGS)]
    best: int | None = None
    i = 0
    while i < len(path):
        part = path[i]
        nxt = path[i + 1] if i + 1 < len(path) else None
        is_key = isinstance(part, str) and any(
            re.match(rf"^\s*{re.escape(part)}\s*=", lines[n]) for n in range(start, end)
        )
        if isinstance(part, str) and isinstance(nxt, int) and not is_key:
            seen = -1
            found = None
            for n in range(start, end):
                m = _HEADER.match(lines[n])
                if m and m.group(1) == part:
                    seen += 1
                    if seen == nxt:
                        found = n
                        break
            if found is None:
                return best
            best = found + 1
            stop = next(
                (n for n in range(found + 1, len(lines)) if _HEADER.match(lines[n]) or _TABLE.match(lines[n])),
                len(lines),
            )
            start, end = found + 1, stop
            i += 2
            continue
        if isinstance(part, str):
            key = re.compile(rf"^\s*{re.escape(part)}\s*=")
            hit = next((n for n in range(start, end) if key.match(lines[n])), None)
            if hit is None:
                table = next(
                    (n for n in range(start, end) if (m := _TABLE.match(lines[n])) and m.group(1) == part), None
                )
                if table is None:
                    return best
                best = table + 1
                stop = next(
                    (n for n in range(table + 1, len(lines)) if _HEADER.match(lines[n]) or _TABLE.match(lines[n])),
                    len(lines),
                )
                start, end = table + 1, stop
            else:
                best = hit + 1
                start, end = hit, hit + 1
        i += 1
    return best


_UNION_TAGS = frozenset(KINDS)


def problems_from(text: str, err: ValidationError) -> list[Problem]:
    out = []
    errors = err.errors()
    for e in errors:
        loc = tuple(e["loc"])
        if e["type"] == "too_short" and any(
            len(o["loc"]) > len(loc) and tuple(o["loc"][: len(loc)]) == loc for o in errors
        ):
            continue  # the items under it already failed; this one is only their echo
        where = ".".join(str(p) for p in loc if not (isinstance(p, str) and p in _UNION_TAGS))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = setup_texts.PROFILE_UNKNOWN_KEY
        elif e["type"] == "union_tag_invalid":
            msg = setup_texts.profile_unknown_kind(_UNION_TAGS)
        elif e["type"] == "union_tag_not_found":
            msg = setup_texts.PROFILE_NO_KIND
        line = locate(text, (*loc, "kind") if e["type"].startswith("union_tag") else loc)
        out.append(Problem(line, where, msg))
    return sorted(out, key=lambda p: (p.line or 0, p.where))


def parse_profile(text: str, *, path: str = "<profile>") -> Profile:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else max(len(text.splitlines()), 1)
        raise ProfileInvalid(path, [Problem(line, "", setup_texts.profile_not_toml(exc))]) from exc
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileInvalid(path, problems_from(text, exc)) from exc


def load_profile_file(path: Path | str) -> Profile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(setup_texts.profile_unreadable(p, exc.strerror)) from exc
    return parse_profile(text, path=str(p))


def bundled_ids() -> list[str]:
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.toml"))


@cache
def bundled(profile_id: str) -> Profile:
    path = BUNDLED_DIR / f"{profile_id}.toml"
    if not path.is_file():
        raise NotFound(
            setup_texts.no_bundled_profile(profile_id),
            hint=setup_texts.choose_profile(bundled_ids()),
        )
    return load_profile_file(path)
