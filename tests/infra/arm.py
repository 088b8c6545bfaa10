"""The deployment template, Azure's ARM schemas offline, and a small evaluator of ARM template
expressions (enough of the language for infra/azuredeploy.json), so tests can read the app
settings and outputs a deployment would produce."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.support.schemas import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "azuredeploy.json"
PARAMETERS = ROOT / "infra" / "azuredeploy.parameters.example.json"
ARM = SCHEMAS / "arm"
ARM_URL = "https://schema.management.azure.com/schemas/"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _retrieve(uri: str) -> Resource[Any]:
    if not uri.startswith(ARM_URL):
        raise LookupError(f"not an ARM schema: {uri}")
    path = ARM / uri[len(ARM_URL) :].split("#", 1)[0]
    return Resource.from_contents(load(path), default_specification=DRAFT4)


@lru_cache(maxsize=1)
def registry() -> Registry[Any]:
    """https://schema.management.azure.com/schemas/... answered from tests/data/schemas/arm/."""
    return Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def schema_url(resource_type: str, api_version: str) -> str:
    """The schema file and definition of a resource type, e.g. Microsoft.Web/sites/config ->
    2024-11-01/Microsoft.Web.json#/resourceDefinitions/sites_config."""
    provider, *path = resource_type.split("/")
    file = "Microsoft.Insights.Application.json" if provider == "Microsoft.Insights" else f"{provider}.json"
    return f"{ARM_URL}{api_version}/{file}#/resourceDefinitions/{'_'.join(path)}"


# --- expressions ---------------------------------------------------------------------------
SUBSCRIPTION = "00000000-aaaa-bbbb-cccc-000000000000"
CLIENT_ID = "44444444-4444-4444-4444-444444444444"
PRINCIPAL_ID = "55555555-5555-5555-5555-555555555555"
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),.\[\]]))"
)


def _unique_string(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:13]


def _resource_id(prefix: str, resource_type: str, *names: str) -> str:
    return f"{prefix}/providers/{resource_type}/{'/'.join(names)}"


def _reference(resource_id: str, *_: Any) -> dict[str, Any]:
    """What reference() returns after a deployment, for the resource types the template reads."""
    name = resource_id.rsplit("/", 1)[-1]
    if "/userAssignedIdentities/" in resource_id:
        return {"clientId": CLIENT_ID, "principalId": PRINCIPAL_ID}
    if "/Microsoft.Web/sites/" in resource_id:
        return {"defaultHostName": f"{name}.azurewebsites.net"}
    if "/Microsoft.Storage/storageAccounts/" in resource_id:
        return {"primaryEndpoints": {"table": f"https://{name}.table.core.windows.net/"}}
    if "/Microsoft.Insights/components/" in resource_id:
        return {"ConnectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000000"}
    raise AssertionError(f"reference() to an unexpected resource {resource_id}")


def _format(fmt: str, *args: Any) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        return _string(args[int(m.group(1))])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", one, fmt)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


class Template:
    """infra/azuredeploy.json evaluated with parameter values (defaults filled in)."""

    def __init__(self, template: dict[str, Any], values: dict[str, Any]) -> None:
        self.template = template
        rg = "/subscriptions/" + SUBSCRIPTION + "/resourceGroups/rg-chaperone"
        self.functions: dict[str, Callable[..., Any]] = {
            "parameters": self._parameter,
            "variables": self._variable,
            "format": _format,
            "string": _string,
            "replace": lambda s, a, b: s.replace(a, b),
            "concat": lambda *a: "".join(map(_string, a)),
            "toLower": str.lower,
            "not": lambda x: not x,
            "empty": lambda x: not x,
            "uniqueString": _unique_string,
            "guid": lambda *a: str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(a))),
            "resourceGroup": lambda: {"id": rg, "name": "rg-chaperone", "location": "uksouth"},
            "subscription": lambda: {
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "00000000-0000-0000-0000-00000000000a",
            },
            "resourceId": lambda t, *n: _resource_id(rg, t, *n),
            "subscriptionResourceId": lambda t, *n: _resource_id(f"/subscriptions/{SUBSCRIPTION}", t, *n),
            "extensionResourceId": lambda scope, t, *n: _resource_id(scope, t, *n),
            "reference": _reference,
        }
        declared = template.get("parameters", {})
        unknown = set(values) - set(declared)
        assert not unknown, f"values for undeclared parameters: {unknown}"
        self.values = dict(values)
        for name, spec in declared.items():
            if name not in self.values:
                assert "defaultValue" in spec, f"parameter {name} has no value and no default"
                self.values[name] = self.value(spec["defaultValue"])
            allowed = spec.get("allowedValues")
            assert allowed is None or self.values[name] in allowed, f"{name}={self.values[name]!r} is not allowed"

    def _parameter(self, name: str) -> Any:
        return self.values[name]

    def _variable(self, name: str) -> Any:
        return self.value(self.template["variables"][name])

    def value(self, node: Any) -> Any:
        """A template value with every expression in it evaluated."""
        if isinstance(node, dict):
            return {k: self.value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if isinstance(node, str) and node.startswith("[") and node.endswith("]"):
            if node.startswith("[["):
                return node[1:]
            return self.expression(node[1:-1])
        return node

    def expression(self, text: str) -> Any:
        tokens = [(m.lastgroup, m.group(m.lastgroup or "")) for m in _TOKEN.finditer(text) if m.lastgroup]
        consumed = sum(len(m.group(0)) for m in _TOKEN.finditer(text))
        assert consumed == len(text.rstrip()) or not text[consumed:].strip(), f"cannot read {text!r}"
        pos = 0

        def peek() -> str:
            return tokens[pos][1] if pos < len(tokens) else ""

        def take(expected: str | None = None) -> tuple[str | None, str]:
            nonlocal pos
            tok = tokens[pos]
            assert expected is None or tok[1] == expected, f"expected {expected!r} at {tok} in {text!r}"
            pos += 1
            return tok

        def expr() -> Any:
            kind, tok = take()
            if kind == "str":
                value: Any = tok[1:-1].replace("''", "'")
            elif kind == "num":
                value = int(tok)
            elif kind == "name":
                if tok in ("true", "false") and peek() != "(":
                    value = tok == "true"
                else:
                    take("(")
                    args = []
                    while peek() != ")":
                        args.append(expr())
                        if peek() == ",":
                            take(",")
                    take(")")
                    assert tok in self.functions, f"ARM function {tok}() is not known to the test evaluator"
                    value = self.functions[tok](*args)
            else:
                raise AssertionError(f"unexpected {tok!r} in {text!r}")
            while peek() in (".", "["):
                if take()[1] == ".":
                    value = value[take()[1]]
                else:
                    value = value[expr()]
                    take("]")
            return value

        result = expr()
        assert pos == len(tokens), f"trailing tokens in {text!r}"
        return result

    def app_settings(self) -> dict[str, str]:
        [site] = [r for r in self.template["resources"] if r["type"] == "Microsoft.Web/sites"]
        return {s["name"]: self.value(s["value"]) for s in site["properties"]["siteConfig"]["appSettings"]}

    def outputs(self) -> dict[str, Any]:
        return {k: self.value(v["value"]) for k, v in self.template["outputs"].items()}


def example() -> Template:
    """The template with the example parameters file's values."""
    values = {k: v["value"] for k, v in load(PARAMETERS)["parameters"].items()}
    return Template(load(TEMPLATE), values)
