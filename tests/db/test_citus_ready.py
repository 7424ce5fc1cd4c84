"""What Citus needs to distribute documents and chunks by collection_id, checked without
Citus (it is not installable here): the keys of the migrated schema, the search settings'
scope and the search SQL's parameter types, read from the catalog and the source."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTED = ("documents", "chunks")

_KEYS = """
SELECT c.conname, c.contype::text, array_agg(a.attname::text ORDER BY a.attname)
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u', 'f')
GROUP BY c.conname, c.contype
"""
# A placeholder (psycopg's `%s` or `%(name)s`, `{...}` standing for an f-string's field)
# not followed by a cast.
_UNCAST = re.compile(r"%(?:\([^)]*\))?s(?!::)")
_SESSION_SET = re.compile(r"^\s*SET\s+(?!LOCAL\b)(?:SESSION\s+)?\w+(?:\.\w+)?\s*(?:=|TO\b)", re.I)
_SESSION_SET_CONFIG = re.compile(r"set_config\([^()]*,\s*false\s*\)", re.I)


def _session_wide(sql: str) -> bool:
    return bool(_SESSION_SET.search(sql) or _SESSION_SET_CONFIG.search(sql))


def _keys(dsn: str, table: str) -> list[tuple[str, str, list[str]]]:
    with psycopg.connect(dsn) as conn:
        return [(name, kind, cols) for name, kind, cols in conn.execute(_KEYS, (table,))]


@pytest.mark.parametrize("table", DISTRIBUTED)
def test_every_key_of_a_distributed_table_includes_collection_id(pg_dsn: str, table: str) -> None:
    keys = _keys(pg_dsn, table)
    assert {kind for _, kind, _ in keys} >= {"p", "u"}
    missing = [name for name, _, cols in keys if "collection_id" not in cols]
    assert missing == []


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals of a module's code (not its docstrings); an f-string's fields
    read as `{}`."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            yield node.lineno, "".join(str(p) for p in parts)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_every_search_parameter_is_cast() -> None:
    """citus#7078: a distributed plan cannot always infer an untyped parameter's type."""
    uncast = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:80]}"
        for path in _sources("app/search")
        for line, text in _strings(path)
        if _UNCAST.search(text)
    ]
    assert uncast == []


def test_every_setting_is_transaction_local() -> None:
    """A pooled connection (or a Citus worker's) never keeps a setting after its transaction:
    SET LOCAL or set_config(..., true), never SET or set_config(..., false)."""
    session_wide = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:80]}"
        for path in _sources("app", "ingest")
        for line, text in _strings(path)
        if _session_wide(text)
    ]
    assert session_wide == []


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        '"""Docstring with %(doc)s."""\n'
        'A = "SELECT 1 LIMIT %(k)s"\n'
        'B = f"LIMIT %({1})s::int"\n'
        "C = \"SET work_mem = '1GB'\"\n"
        "D = \"SELECT set_config('x', 'y', false)\"\n"
        'E = "SET LOCAL hnsw.ef_search = 100"\n'
    )
    texts = dict(_strings(module))
    assert [n for n, t in texts.items() if _UNCAST.search(t)] == [2]
    assert [n for n, t in texts.items() if _session_wide(t)] == [4, 5]
