"""The card renderer: Adaptive Card templates (bot/templates/*.json, package data) bound from data.

Binding works on parsed JSON, never on raw text. Supported, after the Adaptive Cards templating
language: a string that is exactly ``${path}`` becomes the value (any type); ``${path}`` inside a
longer string is interpolated; an object with ``"$data": "${path}"`` inside an array is repeated
once per item of that list (paths then resolve against the item first, ``$root.`` against the
root); ``"$when": "${path}"`` or ``"${!path}"`` keeps an object only when the value is truthy
(falsy). Anything left unbound is an error.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

#: Found through the package, never the working directory, so a wheel install renders cards.
TEMPLATES: Traversable = resources.files("bot.templates")
_WHOLE = re.compile(r"^\$\{(!?)([A-Za-z_$][\w.$]*)\}$")
_PART = re.compile(r"\$\{([A-Za-z_$][\w.$]*)\}")
_MISSING = object()


class TemplateError(Exception):
    """A template names data that was not given (a programming error, caught by the card tests)."""


@cache
def _template(name: str) -> Any:
    return json.loads((TEMPLATES / f"{name}.json").read_text(encoding="utf-8"))


def template_names() -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in TEMPLATES.iterdir() if p.name.endswith(".json"))


def _lookup(path: str, scopes: list[Any], root: Any) -> Any:
    if path.startswith("$root."):
        candidates, path = [root], path[len("$root.") :]
    else:
        candidates = list(reversed(scopes))
    for scope in candidates:
        value: Any = scope
        for part in path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                value = _MISSING
                break
        if value is not _MISSING:
            return value
    raise TemplateError(f"unbound ${{{path}}}")


def _bind(node: Any, scopes: list[Any], root: Any) -> Any:
    if isinstance(node, str):
        whole = _WHOLE.match(node)
        if whole:
            value = _lookup(whole.group(2), scopes, root)
            return (not value) if whole.group(1) else value
        return _PART.sub(lambda m: _text(_lookup(m.group(1), scopes, root)), node)
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            if isinstance(item, dict) and "$data" in item:
                items = _bind(item["$data"], scopes, root)
                if not isinstance(items, list):
                    raise TemplateError(f"$data {item['$data']} is not a list")
                body = {k: v for k, v in item.items() if k != "$data"}
                for i, each in enumerate(items):
                    scope = each if isinstance(each, dict) else {"$value": each}
                    bound = _bind(body, [*scopes, {**scope, "$index": i}], root)
                    if bound is not _DROP:
                        out.append(bound)
                continue
            bound = _bind(item, scopes, root)
            if bound is not _DROP:
                out.append(bound)
        return out
    if isinstance(node, dict):
        if "$when" in node and not _bind(node["$when"], scopes, root):
            return _DROP
        result = {}
        for k, v in node.items():
            if k in ("$when", "$schema"):
                continue
            bound = _bind(v, scopes, root)
            if bound is not _DROP:
                result[k] = bound
        return result
    return node


_DROP = object()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Bind the template ``bot/templates/<name>.json`` with ``data``; returns a fresh card dict."""
    card = _bind(_template(name), [data], data)  # binding builds new objects; the cached template is never changed
    assert isinstance(card, dict)
    return card
