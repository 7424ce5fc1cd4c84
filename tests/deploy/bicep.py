"""Read the Bicep files under infra/ with a real Bicep parser (pycep-parser) into the JSON
tree it makes, and the few lookups the tests need on it. No Bicep CLI or Azure is here, so a
parse, and these cross-checks, are what can be done."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

from tests.test_deployment import ROOT

INFRA = ROOT / "infra"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    # The parser's TypedDict, read here as the plain JSON tree it is.
    return cast("dict[str, Any]", BicepParser().parse(file_path=path))


def body(declaration: dict[str, Any]) -> dict[str, Any]:
    """A resource's or module's own properties, under its `if (...)` when it has one."""
    config: dict[str, Any] = declaration["config"]
    return config["config"] if "condition" in config else config


def condition(declaration: dict[str, Any]) -> Any:
    return declaration["config"].get("condition")


def decorator(parameter: dict[str, Any], kind: str) -> Any:
    """The argument of a parameter's decorator (`allowed`, `min_value`, ...); KeyError if none."""
    for found in parameter["decorators"]:
        if found["type"] == kind:
            return found.get("argument", True)
    raise KeyError(kind)


def key(name: str) -> str:
    """An object key as written: `'database-url'` and `database_url` alike."""
    return name.strip("'")


def keys(mapping: dict[str, Any]) -> set[str]:
    return {key(k) for k in mapping}


def conditional(value: Any) -> dict[str, Any]:
    """The operands of `cond ? a : b` (condition, true_value, false_value)."""
    operator = value["operator"]
    assert operator["type"] == "conditional", value
    operands: dict[str, Any] = operator["operands"]
    return operands


def module_file(declaration: dict[str, Any], within: Path) -> Path:
    return within.parent / declaration["detail"]["path"]


def resources_of_type(tree: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in tree.get("resources", {}).items() if r["type"] == type_}
