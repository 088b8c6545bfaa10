"""The policy package stands at the bottom: it imports nothing of Chaperone above it (only bot.errors and the text catalogue)."""

from __future__ import annotations

import ast
from pathlib import Path

POLICY = Path(__file__).resolve().parents[2] / "bot" / "policy"
ALLOWED = ("bot.policy", "bot.errors", "bot.texts")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_policy_imports_nothing_above_it() -> None:
    upward = [
        f"{path.name}: {name}"
        for path in sorted(POLICY.glob("*.py"))
        for name in _imports(path)
        if (name == "bot" or name.startswith("bot.")) and not name.startswith(ALLOWED)
    ]
    assert upward == []
