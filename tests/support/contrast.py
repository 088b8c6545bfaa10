"""Text contrast of a rendered Adaptive Card against a Teams host config (WCAG 2.x relative luminance)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.support.schemas import SCHEMAS

THEMES = ("light", "dark")
MINIMUM = 4.5
#: Elements whose ``style`` sets the background their content is drawn on.
_STYLED = {"AdaptiveCard", "Container", "Column", "ColumnSet", "TableCell", "Table"}


@cache
def host_config(theme: str) -> dict[str, Any]:
    return json.loads(
        (SCHEMAS / "adaptive-cards" / f"hostconfig-microsoft-teams-{theme}.json").read_text(encoding="utf-8")
    )


def _rgba(colour: str) -> tuple[float, float, float, float]:
    """Host configs write ``#RRGGBB`` or ``#AARRGGBB`` (alpha first)."""
    h = colour.lstrip("#")
    a = 1.0
    if len(h) == 8:
        a, h = int(h[:2], 16) / 255, h[2:]
    return int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, a


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(foreground: str, background: str) -> float:
    """Contrast of a (possibly translucent) text colour drawn over an opaque background."""
    fr, fg, fb, fa = _rgba(foreground)
    br, bg, bb, _ = _rgba(background)
    drawn = (fr * fa + br * (1 - fa), fg * fa + bg * (1 - fa), fb * fa + bb * (1 - fa))
    hi, lo = sorted((_luminance(drawn), _luminance((br, bg, bb))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class Finding:
    theme: str
    style: str
    colour: str
    subtle: bool
    text: str
    ratio: float

    def __str__(self) -> str:
        return f"{self.theme}: {self.colour}{' subtle' if self.subtle else ''} text on {self.style} background is {self.ratio:.2f}:1 ({self.text[:60]!r})"


def findings(card: dict[str, Any], theme: str) -> list[Finding]:
    """Every text run of the card whose contrast with its container's background is under 4.5:1."""
    config = host_config(theme)
    styles = config["containerStyles"]
    fact_title, fact_value = config["factSet"]["title"], config["factSet"]["value"]
    heading = config.get("textStyles", {}).get("heading", {})
    out: list[Finding] = []

    def check(style: str, colour: str | None, subtle: bool | None, text: str) -> None:
        name = (colour or "default").lower()
        fg = styles[style]["foregroundColors"][name]["subtle" if subtle else "default"]
        r = ratio(fg, styles[style]["backgroundColor"])
        if r < MINIMUM:
            out.append(Finding(theme, style, name, bool(subtle), text, r))

    def walk(node: Any, style: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, style)
            return
        if not isinstance(node, dict):
            return
        t = node.get("type")
        if t in _STYLED and node.get("style"):
            style = str(node["style"]).lower()
        if t == "TextBlock":
            base = heading if node.get("style") == "heading" else {}
            check(
                style,
                node.get("color", base.get("color")),
                node.get("isSubtle", base.get("isSubtle")),
                str(node.get("text", "")),
            )
        elif t == "TextRun":
            check(style, node.get("color"), node.get("isSubtle"), str(node.get("text", "")))
        elif t == "FactSet":
            for fact in node.get("facts", []):
                check(style, fact_title.get("color"), fact_title.get("isSubtle"), str(fact.get("title", "")))
                check(style, fact_value.get("color"), fact_value.get("isSubtle"), str(fact.get("value", "")))
        elif isinstance(t, str) and t.startswith("Input.") and node.get("label"):
            check(style, None, False, str(node["label"]))
        for key, value in node.items():
            if key in ("body", "items", "columns", "inlines", "rows", "cells", "actions", "card"):
                walk(value, style)

    walk(card, "default")
    return out
