"""The JSON filter language (docs/decisions/0007-search-modes.md) compiled to a SQL condition with
every
value bound as a named parameter.

    {"year": {"$gte": 2020}, "$or": [{"lang": "en"}, {"source": {"$in": ["a.md", "b.md"]}}]}

A key is a field of the document (`source`, `external_id`, `title`, `created_at`), or a
top-level key of the chunk's `metadata` (`metadata.KEY` names a metadata key that shadows a
field). A value is a scalar (shorthand for `$eq`) or an object of operators.

JSON typing follows JSON, not PostgreSQL casts: `$eq`/`$in` match a value of the same JSON
type (`1` matches `1` and `1.0`, never `"1"` or `true`); `$gt`/`$gte`/`$lt`/`$lte` take a
number (compared numerically, only with numbers) or a string (compared by code point, only
with strings, so ISO dates order correctly); a key that is missing or of another type never
satisfies a comparison, and satisfies `$ne`/`$nin`. Equality uses jsonb containment (`@>`),
which the GIN `jsonb_path_ops` index on `chunks.metadata` answers.

The SQL refers to the chunk as `c` and the document as `d`; `Compiled.uses_document` says
whether the query must join `documents d`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from app.errors import InvalidInput
from app.validation import check_json_text

MAX_DEPTH = 6
MAX_CONDITIONS = 100
MAX_LIST = 100
MAX_STRING = 1000

COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
OPERATORS = {"$eq", "$ne", "$in", "$nin", "$exists", *COMPARISONS}
TEXT_FIELDS = ("source", "external_id", "title")
DOCUMENT_FIELDS = (*TEXT_FIELDS, "created_at")

Scalar = str | int | float | bool | None


@dataclass
class Compiled:
    """A SQL boolean expression and its named parameters."""

    sql: str = "TRUE"
    params: dict[str, Any] = field(default_factory=dict)
    uses_document: bool = False


class _Compiler:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.uses_document = False
        self.conditions = 0

    def bind(self, value: Any, sql_type: str) -> str:
        """The placeholder, cast: a distributed planner (Citus) cannot always infer an
        untyped parameter's type (citus#7078), and the cast costs nothing."""
        name = f"f{len(self.params)}"
        self.params[name] = value
        return f"%({name})s::{sql_type}"

    def node(self, spec: Any, path: str, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{path}: filters nest at most {MAX_DEPTH} levels deep")
        if not isinstance(spec, dict):
            raise InvalidInput(f"{path}: expected an object, got {_kind(spec)}")
        parts = [self.entry(key, value, f"{path}.{key}", depth) for key, value in spec.items()]
        return _join(parts, "AND")

    def entry(self, key: str, value: Any, path: str, depth: int) -> str:
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InvalidInput(f"{path}: expected a non-empty list of filters")
            parts = [self.node(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
            return _join(parts, key[1:].upper())
        if key.startswith("$"):
            raise InvalidInput(f"{path}: unknown operator {key!r} (use a field name, $and, $or)")
        if not key or len(key) > MAX_STRING:
            raise InvalidInput(f"{path}: a field name must have 1 to {MAX_STRING} characters")
        ops = value if isinstance(value, dict) else {"$eq": value}
        if not ops:
            raise InvalidInput(f"{path}: expected at least one operator")
        parts = [self.condition(key, op, arg, f"{path}.{op}") for op, arg in ops.items()]
        return _join(parts, "AND")

    def condition(self, key: str, op: str, arg: Any, path: str) -> str:
        if op not in OPERATORS:
            raise InvalidInput(f"{path}: unknown operator {op!r}; use one of {sorted(OPERATORS)}")
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise InvalidInput(f"{path}: a filter may have at most {MAX_CONDITIONS} conditions")
        if key in DOCUMENT_FIELDS:
            self.uses_document = True
            return self.document_condition(key, op, arg, path)
        return self.metadata_condition(key.removeprefix("metadata."), op, arg, path)

    def metadata_condition(self, key: str, op: str, arg: Any, path: str) -> str:
        if op == "$exists":
            sql = f"c.metadata ? {self.bind(key, 'text')}"
            return sql if _boolean(arg, path) else f"NOT ({sql})"
        if op in ("$eq", "$ne"):
            sql = f"c.metadata @> {self.bind(Jsonb({key: _scalar(arg, path)}), 'jsonb')}"
            return sql if op == "$eq" else f"NOT ({sql})"
        if op in ("$in", "$nin"):
            values = _list(arg, path)
            ors = [f"c.metadata @> {self.bind(Jsonb({key: v}), 'jsonb')}" for v in values]
            sql = _join(ors, "OR") if ors else "FALSE"
            return sql if op == "$in" else f"NOT ({sql})"
        bound = _comparable(arg, path)
        value = f"(c.metadata -> {self.bind(key, 'text')})"
        if isinstance(bound, str):
            # Code-point order, whatever the database's collation, as in Python and JSON.
            return (
                f"(jsonb_typeof({value}) = 'string' AND "
                f"({value} #>> '{{}}') COLLATE \"C\" {COMPARISONS[op]} {self.bind(bound, 'text')})"
            )
        # jsonb orders numbers numerically; the type test keeps strings and booleans out.
        return (
            f"(jsonb_typeof({value}) = 'number' AND "
            f"{value} {COMPARISONS[op]} {self.bind(Jsonb(bound), 'jsonb')})"
        )

    def document_condition(self, key: str, op: str, arg: Any, path: str) -> str:
        column = f"d.{key}" if key == "created_at" else f'd.{key} COLLATE "C"'
        convert = _timestamp if key == "created_at" else _string
        sql_type = "timestamptz" if key == "created_at" else "text"
        if op == "$exists":
            raise InvalidInput(f"{path}: {key} always exists; $exists applies to metadata keys")
        if op in ("$in", "$nin"):
            values = [convert(v, f"{path}[{i}]") for i, v in enumerate(_list(arg, path))]
            sql = f"{column} = ANY({self.bind(values, sql_type + '[]')})"
            return sql if op == "$in" else f"NOT ({sql})"
        symbol = {"$eq": "=", "$ne": "<>", **COMPARISONS}[op]
        return f"{column} {symbol} {self.bind(convert(arg, path), sql_type)}"


def compile_filter(spec: dict[str, Any] | None) -> Compiled:
    """Validate and compile a filter; raises InvalidInput naming the offending path."""
    if not spec:
        return Compiled()
    check_json_text(spec, "filter")  # keys and values are bound as text: no NUL, no surrogate
    compiler = _Compiler()
    sql = compiler.node(spec, "filter", 1)
    return Compiled(sql, compiler.params, compiler.uses_document)


def _join(parts: list[str], op: str) -> str:
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {op} ".join(parts) + ")"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _scalar(value: Any, path: str) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _number(value, path)
    if isinstance(value, str):
        return _string(value, path)
    raise InvalidInput(f"{path}: expected a string, number, boolean or null, got {_kind(value)}")


def _list(value: Any, path: str) -> list[Scalar]:
    if not isinstance(value, list):
        raise InvalidInput(f"{path}: expected a list, got {_kind(value)}")
    if len(value) > MAX_LIST:
        raise InvalidInput(f"{path}: at most {MAX_LIST} values")
    return [_scalar(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{path}: expected true or false, got {_kind(value)}")
    return value


def _comparable(value: Any, path: str) -> str | int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value, path)
    if isinstance(value, str):
        return _string(value, path)
    raise InvalidInput(f"{path}: expected a number or a string, got {_kind(value)}")


def _number(value: int | float, path: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{path}: JSON numbers are finite, got {value!r}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{path}: expected a string, got {_kind(value)}")
    if len(value) > MAX_STRING or "\x00" in value:
        raise InvalidInput(f"{path}: a string of at most {MAX_STRING} characters, without NUL")
    return value


def _timestamp(value: Any, path: str) -> datetime:
    text = _string(value, path)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{path}: expected an ISO 8601 date or time, got {text!r}") from exc
    # A time without a zone means UTC, not the database server's zone.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
