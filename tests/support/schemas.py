"""Validators for the official schemas copied into tests/data/schemas (Adaptive Cards 1.5, Graph, Teams manifest)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError

DATA = Path(__file__).resolve().parents[1] / "data"
SCHEMAS = DATA / "schemas"


@cache
def _card_schema() -> dict[str, Any]:
    return json.loads((SCHEMAS / "adaptive-cards" / "adaptive-card-1.5.json").read_text(encoding="utf-8"))


def _explain(card: Any, schema: dict[str, Any]) -> str:
    """Pick the branch whose type matches each element, so the error says what is wrong where."""
    defs = schema["definitions"]

    def walk(node: Any, path: str) -> str | None:
        if isinstance(node, dict):
            t = node.get("type")
            if isinstance(t, str) and t in defs:
                sub = {"definitions": defs, **defs[t]}
                errors = sorted(Draft6Validator(sub).iter_errors(node), key=lambda e: len(list(e.path)))
                for child_key, child in node.items():
                    found = walk(child, f"{path}.{child_key}")
                    if found:
                        return found
                if errors:
                    e = errors[0]
                    return f"{path} ({t}): {e.message} at {'/'.join(map(str, e.path))}"
            else:
                for k, v in node.items():
                    found = walk(v, f"{path}.{k}")
                    if found:
                        return found
        elif isinstance(node, list):
            for i, v in enumerate(node):
                found = walk(v, f"{path}[{i}]")
                if found:
                    return found
        return None

    return walk(card, "card") or "not valid under any of the given schemas"


def assert_valid_card(card: dict[str, Any]) -> None:
    assert card.get("$audience") in (None, "private", "shared"), "a card's audience is private or shared"
    card = {k: v for k, v in card.items() if k != "$audience"}  # Chaperone's marker, stripped by the transport
    schema = _card_schema()
    try:
        Draft6Validator(schema).validate(card)
    except ValidationError:
        raise AssertionError(f"Adaptive Card 1.5 schema: {_explain(card, schema)}\n{json.dumps(card)[:2000]}") from None
    assert card.get("version") == "1.5", "Teams renders up to 1.5; cards declare 1.5"
    for node in _nodes(card):
        t = node.get("type", "")
        if isinstance(t, str) and t.startswith("Input."):
            assert node.get("label"), f"input {node.get('id')} has no label"
        if t in ("Action.Submit", "Action.Execute"):
            assert isinstance(node.get("data"), dict) and node["data"].get("verb"), (
                f"{t} {node.get('title')} carries no verb"
            )


def nodes(node: Any) -> list[dict[str, Any]]:
    """Every object in a card, depth first."""
    return _nodes(node)


def inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in _nodes(card) if str(n.get("type", "")).startswith("Input.")]


def _nodes(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            out.extend(_nodes(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_nodes(v))
    return out


def card_verbs(card: dict[str, Any]) -> set[str]:
    return {
        n["data"]["verb"]
        for n in _nodes(card)
        if n.get("type") in ("Action.Submit", "Action.Execute") and isinstance(n.get("data"), dict)
    }


def card_text(card: dict[str, Any]) -> str:
    """All visible text of a card, for assertions on what a person reads."""
    parts = []
    for n in _nodes(card):
        for key in ("text", "title", "value", "label", "placeholder"):
            if isinstance(n.get(key), str):
                parts.append(n[key])
    return "\n".join(parts)


@cache
def graph_validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / "graph" / "strict" / f"{name}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)
