"""Every sentence the bot says lives in bot/texts/ (or a card template). Read from the source (AST), so an
English sentence typed into a module fails here before a user reads it.

A string is a sentence when it has three words of letters in a row separated by spaces, or when it
starts with a capitalised word and ends in sentence punctuation (``Done.``). f-strings are judged by
their literal parts. Not counted: docstrings and bare string statements; arguments of logging calls;
messages of programming-error exceptions, raised or asserted (pydantic validators raise ValueError
too: the policy package's, which ``chaperone policy check`` shows, are in the catalogue all the same);
``Field(description=...)``; the operation labels of log lines (LOG_LABELS); the names in NAMED; and
non-prose strings (filter expressions, URLs, content types). Reasons no user reads (an exception's message
that is only logged, such as a rejected token's, or an audit entry's detail) are written as snake_case codes or
``key=value`` pairs, which are not sentences by the rule above, so they need no exemption.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

#: Where English belongs: the catalogue, the command line (an admin's terminal), the Teams app
#: manifest, and the protocol renderer used by the docs and the CLI.
EXEMPT = ("texts/", "cli/", "manifest.py", "policy/describe.py")

LOG_METHODS = {
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "log",
}
#: Exceptions that report a programming or configuration mistake, not something a teacher reads.
PROGRAMMING_ERRORS = {
    "ValueError",
    "TypeError",
    "KeyError",
    "AssertionError",
    "RuntimeError",
    "NotImplementedError",
    "TemplateError",
    "LookupError",
    "IndexError",
    "AttributeError",
}
#: Calls whose first argument names an operation for the log lines it ends up in.
LOG_LABELS = {"_call"}
#: Keyword arguments that document a schema rather than speak to a user (pydantic ``Field``).
SCHEMA_DOCS = {"description"}
#: Named assignments and functions whose words are not a user's sentences, by module:
#: the deployment's configuration contract and the defaults a school's TOML overrides (read by the
#: admin, like the CLI); each rule's area and summary, which only the protocol renderer
#: (policy/describe.py, exempt above) shows.
NAMED: dict[str, set[str]] = {
    "config.py": {"ENV_SETTINGS", "DEFAULT_CONCERN_CATEGORIES"},
    "policy/rules.py": {"area", "summary"},
}

_WORDS = re.compile(r"[A-Za-z]+(?:['’][a-z]+)? [A-Za-z]+(?:['’][a-z]+)? [A-Za-z]+")
_SENTENCE = re.compile(r"^[A-Z][a-z'’]+(?:.*[a-z)}\]])?[.!?]$", re.DOTALL)
#: Strings that are not prose even though they have words: query filters, URLs, MIME types.
_NOT_PROSE = (
    re.compile(r"\b(eq|ne|ge|gt|le|lt)\s+@?\w"),  # table/OData filter expressions
    re.compile(r"^[a-z][a-z0-9+.-]*://"),  # URLs
    re.compile(r"^[a-z]+/[a-z0-9.+-]+(;.*)?$"),  # content types
)


def is_sentence(text: str) -> bool:
    text = text.strip()
    if not text or any(p.search(text) for p in _NOT_PROSE):
        return False
    return bool(_WORDS.search(text) or _SENTENCE.match(text))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _defines(node: ast.AST, named: set[str] | frozenset[str]) -> bool:
    """Whether ``node`` is a function, method or assignment of one of ``named``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name in named
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return any(isinstance(t, ast.Name) and t.id in named for t in targets)


def _skipped(tree: ast.Module, named: set[str] | frozenset[str]) -> set[int]:
    """ids of the nodes whose strings do not count (see the module docstring)."""
    skip: set[int] = set()

    def under(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if _defines(node, named):
            under(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            under(node)  # docstrings and bare string statements
        elif isinstance(node, ast.Raise) and node.exc is not None and _name(node.exc) in PROGRAMMING_ERRORS:
            under(node)
        elif isinstance(node, ast.Assert) and node.msg is not None:
            under(node.msg)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS:
                under(node)
                continue
            if _name(node.func) in LOG_LABELS and node.args:
                under(node.args[0])
            for kw in node.keywords:
                if kw.arg in SCHEMA_DOCS:
                    under(kw.value)
    return skip


def literals(path: Path, named: set[str] | frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, text) of every English sentence in one module; strings under ``named`` do not count."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _skipped(tree, named)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if is_sentence(text):
            found.append((node.lineno, text))
    return found


def violations(root: Path = BOT) -> list[str]:
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(EXEMPT):
            continue
        out.extend(f"{rel}:{line}: {text!r}" for line, text in literals(path, NAMED.get(rel, set())))
    return out


def test_every_sentence_is_in_the_catalogue() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    "source",
    [
        'from bot.chat import Reply\n\ndef handle() -> Reply:\n    return Reply(text="Your session is booked.")\n',
        'def handle(ref: str) -> str:\n    return f"There is no session {ref} to end"\n',
        'from bot.errors import NotFound\n\ndef handle(ref: str) -> None:\n    raise NotFound(f"No session {ref}.")\n',
        'HINT = "Done."\n',
    ],
)
def test_an_english_literal_in_a_command_fails(tmp_path: Path, source: str) -> None:
    (tmp_path / "commands").mkdir()
    (tmp_path / "commands" / "x.py").write_text(source, encoding="utf-8")
    assert len(violations(tmp_path)) == 1


def test_what_is_not_a_users_sentence_passes(tmp_path: Path) -> None:
    source = '''"""A module docstring with several words in it."""
import logging
from pydantic import BaseModel, Field, field_validator

log = logging.getLogger(__name__)
QUERY = "PartitionKey eq @pk and RowKey ge @lo"
URL = "https://graph.microsoft.com/v1.0"
TYPE = "application/vnd.microsoft.card.adaptive"
WHEN = "{start:%H:%M}–{end:%H:%M}"
KEY = "awaiting_second_adult"
DETAIL = "reason=no_second_adult"


class Model(BaseModel):
    name: str = Field(description="the name as the school writes it")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v:
            raise ValueError("the name must not be empty")
        return v


def f(x: int) -> None:
    """What f does, in a sentence."""
    log.warning("the store did not answer for %s", x)
    assert x, "x must be set by the caller"
    if x < 0:
        raise RuntimeError("this cannot happen at all")
    if x > 9:
        raise AuthError("unknown_signing_key")  # only logged: a code, not a sentence
'''
    (tmp_path / "domain.py").write_text(source, encoding="utf-8")
    assert violations(tmp_path) == []


def test_the_catalogue_imports_nothing_else_of_chaperone() -> None:
    for path in (BOT / "texts").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not (node.module == "bot" or node.module.startswith("bot.")) or node.module.startswith(
                    "bot.texts"
                ), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("bot.") and not a.name.startswith("bot.texts") for a in node.names), (
                    path
                )
