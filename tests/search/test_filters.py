"""The JSON filter language: validation names the offending path, and (property test) a
filtered search returns exactly the rows the same filter selects when evaluated in Python."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog import create_collection
from app.errors import InvalidInput
from app.search.filters import MAX_DEPTH, compile_filter
from app.search.service import SearchRequest, SearchTarget, search
from tests.conftest import MINILM
from tests.search.conftest import clustered, connect, document, load

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"year": {"$gt": True}}, "filter.year.$gt"),
        ({"$and": [{"a": 1}, {"year": {"$gt": [1]}}]}, "filter.$and[1].year.$gt"),
        ({"$and": [{"a": 1}, {"year": {"$regex": "x"}}]}, "filter.$and[1].year.$regex"),
        ({"$nor": []}, "filter.$nor"),
        ({"$or": []}, "filter.$or"),
        ({"$or": {"a": 1}}, "filter.$or"),
        ({"tags": {"$in": "x"}}, "filter.tags.$in"),
        ({"tags": {"$in": ["x", {"y": 1}]}}, "filter.tags.$in[1]"),
        ({"tags": {"$exists": 1}}, "filter.tags.$exists"),
        ({"a": {"$eq": {"nested": 1}}}, "filter.a.$eq"),
        ({"a": {}}, "filter.a"),
        ({"created_at": {"$gt": "yesterday"}}, "filter.created_at.$gt"),
        ({"title": {"$eq": 3}}, "filter.title.$eq"),
        ({"source": {"$exists": True}}, "filter.source.$exists"),
        ({"a": {"$gt": float("nan")}}, "filter.a.$gt"),
        ({"$or": [{"a": 1}, 5]}, "filter.$or[1]"),
    ],
)
def test_invalid_filters_name_the_path(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_filter(spec)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)


def test_nesting_and_size_are_limited() -> None:
    deep: dict[str, Any] = {"a": 1}
    for _ in range(MAX_DEPTH):
        deep = {"$and": [deep]}
    with pytest.raises(InvalidInput, match="nest at most"):
        compile_filter(deep)
    with pytest.raises(InvalidInput, match="at most 100 conditions"):
        compile_filter({"$or": [{"a": i} for i in range(101)]})


def test_every_value_is_a_bound_parameter() -> None:
    hostile = "x'); DROP TABLE chunks; --"
    compiled = compile_filter(
        {"$or": [{hostile: hostile}, {"title": {"$gt": hostile}}, {"k": {"$lt": hostile}}]}
    )
    assert hostile not in compiled.sql
    assert "DROP" not in compiled.sql
    assert compiled.uses_document


# --- property test --------------------------------------------------------------------------

ROWS = 60
STRINGS = ["", "a", "b", "ab", "B", "10", "2", "é", "z"]
NUMBERS = [-1, 0, 1, 2, 0.5, 1.5, 2.0, 10]
SCALARS = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.booleans(), st.none())
META_KEYS = ["a", "b", "c", "missing"]


def _metadata(rng: np.random.Generator) -> dict[str, Any]:
    pools: dict[str, list[Any]] = {
        "a": NUMBERS,
        "b": STRINGS,
        "c": [True, False, None, 1, "1", 0.5, "a"],
    }
    out: dict[str, Any] = {}
    for key, pool in pools.items():
        if rng.random() < 0.8:
            out[key] = pool[rng.integers(len(pool))]
    return out


@pytest.fixture(scope="module")
async def rows(pg_dsn: str, settings: Any) -> AsyncIterator[tuple[SearchTarget, list[dict]]]:
    from sqlalchemy.engine import make_url

    from app.db.database import Database

    db = Database(make_url(settings.database_url), settings)
    async with db.owner_session() as session:
        collection = await create_collection(session, MINILM, name=f"f-{uuid.uuid4().hex[:8]}")
    await db.dispose()
    rng = np.random.default_rng(3)
    vectors = clustered(ROWS, seed=4)
    conn = await connect(pg_dsn)
    docs = [
        document(
            f"e{i % 7}-{i}",
            [f"row {i}"],
            vectors[i : i + 1],
            title=STRINGS[i % len(STRINGS)],
            source=f"s{i % 3}",
            metadata=_metadata(rng),
        )
        for i in range(ROWS)
    ]
    await load(conn, collection, docs[: ROWS // 2])  # two transactions: two created_at values
    await load(conn, collection, docs[ROWS // 2 :])
    cursor = await conn.execute(
        "SELECT external_id, title, source, created_at, metadata FROM documents"
        " WHERE collection_id = %s",
        (collection.id,),
    )
    names = ("external_id", "title", "source", "created_at", "metadata")
    table = [dict(zip(names, r, strict=True)) for r in await cursor.fetchall()]
    await conn.close()
    yield SearchTarget.of(collection), table


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return isinstance(a, str) and isinstance(b, str) and a == b


def _compare(value: Any, op: str, arg: Any) -> bool:
    left, right = value, arg
    return {
        "$gt": left > right,
        "$gte": left >= right,
        "$lt": left < right,
        "$lte": left <= right,
    }[op]


def _condition(row: dict[str, Any], key: str, op: str, arg: Any) -> bool:
    if key in ("title", "source", "external_id", "created_at"):
        value = row[key]
        if key == "created_at":
            arg = (
                [datetime.fromisoformat(a) for a in arg]
                if isinstance(arg, list)
                else (datetime.fromisoformat(arg))
            )
        if op in ("$in", "$nin"):
            return (value in arg) == (op == "$in")
        if op in ("$eq", "$ne"):
            return (value == arg) == (op == "$eq")
        return _compare(value, op, arg)
    present, value = key in row["metadata"], row["metadata"].get(key)
    if op == "$exists":
        return present == arg
    if op in ("$eq", "$ne"):
        return (present and _json_equal(value, arg)) == (op == "$eq")
    if op in ("$in", "$nin"):
        return (present and any(_json_equal(value, a) for a in arg)) == (op == "$in")
    number = isinstance(arg, int | float)
    same_type = (
        isinstance(value, int | float) and not isinstance(value, bool)
        if number
        else isinstance(value, str)
    )
    return present and same_type and _compare(value, op, arg)


def matches(row: dict[str, Any], spec: dict[str, Any]) -> bool:
    for key, value in spec.items():
        if key == "$and":
            ok = all(matches(row, s) for s in value)
        elif key == "$or":
            ok = any(matches(row, s) for s in value)
        else:
            ops = value if isinstance(value, dict) else {"$eq": value}
            ok = all(_condition(row, key, op, arg) for op, arg in ops.items())
        if not ok:
            return False
    return True


_BASE = datetime(2020, 1, 1, tzinfo=UTC)
COMPARABLE = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS))
TEXT = st.sampled_from([*STRINGS, "e3-3", "e1-8", "s1", "s0", "s2", "e4"])


@st.composite
def leaf(draw: Any) -> dict[str, Any]:
    key = draw(st.sampled_from([*META_KEYS, "title", "source", "external_id", "created_at"]))
    if key == "created_at":
        op = draw(st.sampled_from(["$gt", "$gte", "$lt", "$lte", "$ne"]))
        moment = datetime.now(UTC) + timedelta(hours=draw(st.sampled_from([-1, 0, 1])))
        if draw(st.booleans()):
            moment = _BASE
        return {key: {op: moment.isoformat()}}
    if key in ("title", "source", "external_id"):
        op = draw(st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte"]))
        arg: Any = draw(st.lists(TEXT, max_size=3)) if op in ("$in", "$nin") else draw(TEXT)
        return {key: arg if op == "$eq" and draw(st.booleans()) else {op: arg}}
    op = draw(
        st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists"])
    )
    if op == "$exists":
        arg = draw(st.booleans())
    elif op in ("$in", "$nin"):
        arg = draw(st.lists(SCALARS, max_size=4))
    elif op.startswith(("$g", "$l")):
        arg = draw(COMPARABLE)
    else:
        arg = draw(SCALARS)
    return {key: {op: arg}}


FILTERS = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"$and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"$or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=FILTERS, mode=st.sampled_from(["vector", "text", "hybrid"]))
async def test_filtered_search_equals_python_filter(
    rows: tuple[SearchTarget, list[dict]], pg_dsn: str, spec: dict[str, Any], mode: str
) -> None:
    target, table = rows
    expected = {r["external_id"] for r in table if matches(r, spec)}
    conn = await connect(pg_dsn)
    try:
        request = SearchRequest(
            mode,  # type: ignore[arg-type]
            k=100,
            query="row",
            vector=clustered(1, seed=9)[0],
            filter=spec,
        )
        hits = await search(conn, target, request)
    finally:
        await conn.close()
    assert {h.external_id for h in hits} == expected, spec
