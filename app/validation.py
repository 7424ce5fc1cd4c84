"""The rules a document meets whatever door it comes through (the JSON API, files and JSON
Lines, an import), and the text check every string from outside passes. The limits are
here, in one place; the API's schemas, the loaders' documents (ingest/prepare.py) and the
importer (ingest/transfer/importer.py) all call these functions.

Text: PostgreSQL's text and jsonb refuse NUL, and a lone UTF-16 surrogate (`"\\ud800"` in
JSON, or a command-line argument that is not UTF-8) is no Unicode text at all: psycopg,
tiktoken and the tokenizers fail on it. Both are refused where they enter, naming the field.

Metadata: a JSON object copied to every chunk and returned with every hit. Nesting deeper
than MAX_METADATA_DEPTH levels, or a serialization over MAX_METADATA_BYTES, is refused: the
responses that carry it must serialize (pydantic stops at 255 levels), and every search
hit carries it.

JSON: read by `parse_json` (pydantic-core's parser) wherever it comes from outside.

This module imports only `app.errors` and pydantic-core: parse workers (ingest/parsing.py)
load it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pydantic_core

from app.errors import InvalidInput

if TYPE_CHECKING:  # a parse worker never checks vectors: numpy is imported on first use
    import numpy.typing as npt

MAX_ID_CHARS = 1024
MAX_TITLE_CHARS = 2000
MAX_SOURCE_CHARS = 2000
MAX_DESCRIPTION_CHARS = 2000  # a collection's; every key's collection list carries it
MAX_ACCESS_GROUPS = 100
MAX_DIMENSIONS = 16_000  # pgvector's vector type
MAX_METADATA_DEPTH = 32  # {"a": 1} is one level, {"a": {"b": 1}} two
MAX_METADATA_BYTES = 64 * 1024  # as compact UTF-8 JSON
MAX_JSON_DEPTH = 200  # pydantic-core's own limit (measured: 200 levels read, 255 refused)

# C0/C1 controls (a newline forges log lines) and the bidi marks, embeddings, overrides and
# isolates (U+202E shows "\u202egnp.md" as "dm.png").
_UNSAFE_ID = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    if value.isascii():
        return "must not contain NUL characters" if "\x00" in value else None
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode()  # 20 MB of non-ASCII text: 86 ms; a regular expression took 270 ms
    except UnicodeEncodeError as exc:  # only a surrogate cannot be encoded as UTF-8
        return (
            f"contains a lone surrogate (U+{ord(value[exc.start]):04X} at character"
            f" {exc.start}), which is not Unicode text"
        )
    return None


def check_text(value: str, where: str, *, most: int | None = None) -> str:
    """`value` when it is storable text of at most `most` characters; else InvalidInput
    naming `where`."""
    if problem := text_problem(value):
        raise InvalidInput(f"{where}: {problem}")
    if most is not None and len(value) > most:
        raise InvalidInput(f"{where}: {len(value)} characters; at most {most}")
    return value


def _unicode_error(where: str, path: tuple[str | int, ...], problem: str) -> InvalidInput:
    """InvalidInput naming the field as the API's 422s do (`body.messages.0.content`),
    with the field's location in `errors`."""
    loc = [where, *path]
    detail = f"{'.'.join(str(part) for part in loc)}: {problem}"
    return InvalidInput(detail, errors=[{"loc": loc, "msg": problem, "type": "string_unicode"}])


def check_json_text(value: Any, where: str, *, most_depth: int | None = None) -> None:
    """Every key and string in the JSON value `value` (dicts, lists, scalars) is storable
    text, and (with `most_depth`) no container nests deeper. Walks with its own stack: any
    depth is safe to check."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if problem := text_problem(item):
                raise _unicode_error(where, path, problem)
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        if most_depth is not None and len(path) >= most_depth:
            raise InvalidInput(f"{where} nests deeper than {most_depth} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (problem := text_problem(key)):
                    shown = key.encode("utf-8", "backslashreplace").decode()  # printable
                    raise _unicode_error(where, (*path, shown), f"the key {problem}")
                stack.append((child, (*path, str(key))))
        else:
            stack.extend((child, (*path, n)) for n, child in enumerate(item))


def parse_json(data: str | bytes, where: str) -> Any:
    """JSON text read by pydantic-core's parser (fast, and it refuses lone surrogate
    escapes and nesting past MAX_JSON_DEPTH, where json.loads overflows the stack).
    json.JSONDecodeError (a ValueError) when it is no JSON; InvalidInput naming the field
    when it is JSON but holds no text, or nests too deeply."""
    try:
        return pydantic_core.from_json(data)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise InvalidInput(f"{where} nests deeper than {MAX_JSON_DEPTH} levels") from exc
        strict_error = exc
    try:
        value = json.loads(data)  # only to name the field pydantic-core refused
    except RecursionError as exc:
        raise InvalidInput(f"{where} nests deeper than {MAX_JSON_DEPTH} levels") from exc
    check_json_text(value, where, most_depth=MAX_JSON_DEPTH)
    raise InvalidInput(f"{where}: {strict_error}") from strict_error  # not reached so far


def check_metadata(metadata: Mapping[str, Any], where: str = "metadata") -> dict[str, Any]:
    """A document's metadata: a JSON object of storable text, at most MAX_METADATA_DEPTH
    levels deep and MAX_METADATA_BYTES long."""
    if not isinstance(metadata, Mapping):
        raise InvalidInput(f"{where} must be a JSON object")
    check_json_text(metadata, where, most_depth=MAX_METADATA_DEPTH)
    try:
        size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:  # not JSON: a set, bytes, a circular reference
        raise InvalidInput(f"{where}: not a JSON object: {exc}") from exc
    if size > MAX_METADATA_BYTES:
        raise InvalidInput(
            f"{where} is {size} bytes as JSON; at most {MAX_METADATA_BYTES // 1024} KiB"
        )
    return dict(metadata)


# The metadata key of a document's one-line purpose (a man page's NAME line, a DocBook
# refpurpose, or a record's own `metadata.summary`): ingestion writes it
# (`ingest.loaders.load_file`) and embeds it with the title before each chunk
# (`ingest.embedded.context_line`); an extractive answer names it with the page's first quote.
SUMMARY = "summary"
SUMMARY_SEPARATOR = " \u2014 "  # between a title and its summary, wherever both are shown


def summary_of(metadata: Mapping[str, Any]) -> str:
    """The document's summary: its metadata's `summary` when that is text, else ""."""
    value = metadata.get(SUMMARY)
    return value.strip() if isinstance(value, str) else ""


def check_document_id(value: str, where: str = "id") -> str:
    """A document id: 1-MAX_ID_CHARS characters of text without control or bidirectional
    characters (they make an id display as another, or forge log lines)."""
    if not value:
        raise InvalidInput(f"{where}: empty document id")
    check_text(value, where, most=MAX_ID_CHARS)
    if _UNSAFE_ID.search(value):
        raise InvalidInput(
            f"{where}: document id {value!r} contains control or bidirectional-override"
            " characters (they make an id display as another)"
        )
    return value


def shown_id(external_id: str) -> str:
    """An id as an error message shows it: quoted, escaped, at most 100 characters."""
    return repr(external_id if len(external_id) <= 100 else external_id[:100] + "...")


def check_document_fields(
    external_id: str, title: str, source: str, metadata: Mapping[str, Any]
) -> None:
    """A document's own fields (its text and chunks are checked where they are cut)."""
    check_document_id(external_id)
    check_text(title, "title", most=MAX_TITLE_CHARS)
    check_text(source, "source", most=MAX_SOURCE_CHARS)
    check_metadata(metadata)


def check_vectors(vectors: npt.NDArray[Any], where: Callable[[int], str]) -> None:
    """Embeddings cosine distance can use, one per row: finite values, not all zero;
    `where(row)` names a bad one."""
    import numpy as np

    for bad, problem in (
        (~np.isfinite(vectors).all(axis=1), "every value must be a finite number"),
        (~vectors.any(axis=1), "all zeros has no direction (cosine distance)"),
    ):
        if bad.any():
            raise InvalidInput(f"{where(int(np.argmax(bad)))}: {problem}")


def check_vector(vector: npt.NDArray[Any], where: str = "vector") -> None:
    """One embedding, as `check_vectors`."""
    check_vectors(vector.reshape(1, -1), lambda _row: where)
