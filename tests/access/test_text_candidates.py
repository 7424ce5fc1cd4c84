"""Scoped full-text search takes its candidates from the `chunks_text_candidates` view
(where the text index can be used), which must show each principal exactly the chunks the
chunks policy lets it read; the hits are read back from `chunks` under row-level security,
and are the same as searching `chunks` directly."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal, apply_principal
from app.catalog import create_collection
from app.search import sql
from app.search.filters import compile_filter
from app.search.service import SearchRequest, SearchTarget, search
from app.search.terms import RANK_CAP
from tests.conftest import MINILM
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio

GROUPS: list[list[str]] = [[], ["x"], ["y"], ["x", "y"], ["z"]]


def principals(one: str, two: str) -> list[Principal]:
    return [
        Principal("x-in-one", "read", (one,), ("x",)),
        Principal("y-everywhere", "read", None, ("y",)),
        Principal("no-groups-in-two", "read", (two,), ()),
        Principal("elsewhere", "read", ("nowhere",), ("x", "y", "z")),
        Principal("all-groups", "write", None, ("x", "y", "z")),
    ]


@pytest.fixture
async def two(session: AsyncSession, conn, collection_name: str) -> dict[str, SearchTarget]:
    """Two collections, each with 10 documents per access group, all about vacuum (so a
    search matches every chunk it may see)."""
    targets = {}
    for n, name in enumerate((f"{collection_name}-one", f"{collection_name}-two")):
        collection = await create_collection(session, MINILM, name=name)
        vectors = clustered(10 * len(GROUPS), seed=n)
        docs = [
            replace(
                document(f"{name}-{i}", [f"vacuum note {i} of {name}"], vectors[i : i + 1]),
                access=GROUPS[i % len(GROUPS)],
            )
            for i in range(10 * len(GROUPS))
        ]
        await load(conn, collection, docs)
        targets[name] = SearchTarget.of(collection)
    return targets


async def test_the_view_shows_what_the_policy_shows(conn, two: dict[str, SearchTarget]) -> None:
    ids = [t.collection_id for t in two.values()]
    for principal in principals(*two):
        async with conn.transaction():
            await apply_principal(conn, principal)
            sets = []
            for source in ("chunks", "chunks_text_candidates"):
                cursor = await conn.execute(
                    f"SELECT collection_id, id FROM {source} WHERE collection_id = ANY(%s)",
                    (ids,),
                )
                sets.append(set(await cursor.fetchall()))
        assert sets[0] == sets[1], principal.name


@pytest.mark.usefixtures("two")
async def test_the_view_shows_nothing_without_a_principal_set(conn) -> None:
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE pgask_scoped")
        cursor = await conn.execute("SELECT count(*) FROM chunks_text_candidates")
        assert await cursor.fetchone() == (0,)


async def test_scoped_text_and_hybrid_hits_are_those_of_chunks(
    conn, two: dict[str, SearchTarget]
) -> None:
    """Text through the view equals text on `chunks` under row-level security (the slow
    plan); hybrid (through the view) finds every visible chunk."""
    query = clustered(1, seed=9)[0]
    for principal in principals(*two):
        visible = [g for g in GROUPS if not g or set(g) & set(principal.groups)]
        for name, target in two.items():
            sees = principal.collections is None or name in principal.collections
            expected = min(10 * len(visible), 50) if sees else 0
            text = SearchRequest("text", k=50, query="vacuum note")
            found = []
            for restricted in (False, True):  # chunks directly, then through the view
                async with conn.transaction():
                    await apply_principal(conn, principal)
                    hits = await search(conn, replace(target, restricted=restricted), text)
                found.append([(h.chunk_id, round(h.score, 6)) for h in hits])
            assert found[0] == found[1], (principal.name, name)
            assert len(found[1]) == expected
            hybrid = SearchRequest("hybrid", k=50, query="vacuum note", vector=query)
            async with conn.transaction():
                await apply_principal(conn, principal)
                hits = await search(conn, replace(target, restricted=True), hybrid)
            assert len(hits) == expected, (principal.name, name)


async def test_the_narrow_and_the_wide_form_find_the_same_candidates(
    conn, two: dict[str, SearchTarget]
) -> None:
    """A key seeing few rows adds the groups test in its indexable form (`sql.GROUPS_TEST`),
    one seeing many relies on the view's filter: the same rows either way."""
    for principal in principals(*two):
        for target in two.values():
            found = []
            for narrow in (False, True):
                scope = sql.Scope(
                    target.collection_id, 384, compile_filter(None), restricted=True, narrow=narrow
                )
                query = sql.hits_sql(
                    scope, sql.text_ranked(scope, any_word=True), include_text=False
                )
                async with conn.transaction():
                    await apply_principal(conn, principal)
                    cursor = await conn.execute(
                        query,
                        {
                            "tier0": "'vacuum'",
                            "trank": "'vacuum' | 'note'",
                            "tlex": ["'vacuum'", "'note'"],
                            "tidf": [1.0, 1.0],
                            "k": 100,
                            "depth": 100,
                            "tcap": RANK_CAP,
                        },
                    )
                    found.append(await cursor.fetchall())
            assert found[0] == found[1], principal.name
