"""Every card the bot can send is legible in Teams' light and dark themes and reads sensibly to a screen reader."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot import render as render_module
from bot.render import template_names
from tests.support.catalog import every_card
from tests.support.contrast import MINIMUM, THEMES, findings, ratio
from tests.support.schemas import assert_valid_card, nodes

CARDS = asyncio.run(every_card())


def test_the_catalogue_covers_every_template(monkeypatch: pytest.MonkeyPatch) -> None:
    used: set[str] = set()
    original = render_module._template

    def spy(name: str) -> Any:
        used.add(name)
        return original(name)

    monkeypatch.setattr(render_module, "_template", spy)
    asyncio.run(every_card())
    assert used == set(template_names())


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(("name", "card"), CARDS, ids=[n for n, _ in CARDS])
def test_every_text_meets_4_5_to_1(name: str, card: dict[str, Any], theme: str) -> None:
    assert_valid_card(card)
    bad = findings(card, theme)
    assert not bad, "\n".join(map(str, bad))


def test_the_old_coloured_status_lines_fail() -> None:
    """What the cards used to do (coloured status text on the card's own background) is caught in the light theme."""
    theme = "light"
    old = [
        {"type": "TextBlock", "text": "waiting for a second adult", "color": "Warning"},
        {"type": "TextBlock", "text": "Covered by Sam Senior.", "color": "Good"},
        {"type": "TextBlock", "text": "Scheduled", "color": "Good"},
        {"type": "TextBlock", "text": "Acknowledged by Dee DSL", "color": "Good"},
    ]
    for block in old:
        card = {"type": "AdaptiveCard", "version": "1.5", "body": [block]}
        assert findings(card, theme), f"{block['color']} text passed in {theme}"


def test_contrast_arithmetic() -> None:
    assert ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert ratio("#f8d22a", "#ffffff") < 1.6  # the measured 1.47:1 warning yellow
    assert ratio("#80000000", "#ffffff") < ratio("#ff000000", "#ffffff")  # alpha blends toward the background
    assert MINIMUM == 4.5


@pytest.mark.parametrize(("name", "card"), CARDS, ids=[n for n, _ in CARDS])
def test_headings_and_labels_read_sensibly(name: str, card: dict[str, Any]) -> None:
    """The first words a screen reader meets are a heading; every input has a label; every button a title that says what it does."""
    blocks = [n for n in nodes(card.get("body", [])) if n.get("type") == "TextBlock"]
    headings = [b for b in blocks if b.get("style") == "heading"]
    assert headings, f"{name} has no heading"
    assert not [b for b in blocks if b.get("size") in ("Medium", "Large") and b.get("style") != "heading"], (
        f"{name}: a big bold line that is not a heading"
    )
    for n in nodes(card):
        t = str(n.get("type", ""))
        if t.startswith("Input."):
            assert len(str(n.get("label", ""))) >= 3, f"{name}: input {n.get('id')} label {n.get('label')!r}"
        if t.startswith("Action."):
            title = str(n.get("title", ""))
            assert len(title) >= 3 and "${" not in title, f"{name}: button {title!r}"
        if t == "Input.Toggle":
            assert n.get("title"), f"{name}: toggle {n.get('id')} has no visible title"
