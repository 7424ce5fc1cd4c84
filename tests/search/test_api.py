"""POST /v1/search and GET .../documents/{id}/similar over real HTTP, with the real local
embedding model and database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import create_collection
from app.db.models import Collection
from app.embeddings import Embedder
from app.embeddings.base import ModelSpec
from app.search.service import SearchRequest, SearchTarget, search
from tests.conftest import MINILM
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio

CORPUS = {
    "cats": ["Cats are small domesticated carnivorous mammals that purr and hunt mice."],
    "dogs": ["Dogs are loyal domesticated animals that bark, fetch sticks and guard houses."],
    "python": ["Python is a programming language with dynamic typing and garbage collection."],
    "postgres": ["PostgreSQL is a relational database; pgvector adds vector similarity search."],
    "rust": ["Rust is a systems programming language focused on memory safety without GC."],
    "kittens": ["Kittens are young cats that purr.", "A kitten sleeps a lot and plays with yarn."],
}
META = {
    "cats": {"kind": "animal", "legs": 4},
    "dogs": {"kind": "animal", "legs": 4},
    "kittens": {"kind": "animal", "legs": 4},
    "python": {"kind": "software", "year": 1991},
    "postgres": {"kind": "software", "year": 1996},
    "rust": {"kind": "software", "year": 2015},
}


@pytest.fixture
async def loaded(conn, collection: Collection, embedder: Embedder) -> Collection:
    docs = []
    for name, texts in CORPUS.items():
        vectors = await embedder.embed_documents(texts)
        docs.append(
            document(
                name, texts, vectors, title=name.title(), source=f"{name}.md", metadata=META[name]
            )
        )
    await load(conn, collection, docs)
    return collection


def _search(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v1/search", json=body)


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [h["external_id"] for h in response.json()["hits"]]


async def test_modes_rank_the_relevant_document_first(client, loaded: Collection) -> None:
    for mode in ("vector", "text", "hybrid"):
        response = _search(
            client, collection=loaded.name, query="database for vectors", mode=mode, k=3
        )
        assert _ids(response)[0] == "postgres", (mode, response.json())
    # No query word in another document's title (titles weigh: "Cats" would come first).
    body = _search(client, collection=loaded.name, query="young animals playing with yarn", k=3)
    body = body.json()
    assert body["mode"] == "hybrid"
    assert body["hits"][0]["external_id"] == "kittens"
    hit = body["hits"][0]
    assert set(hit) == {
        "chunk_id",
        "document_id",
        "external_id",
        "title",
        "source",
        "section",
        "page",
        "text",
        "score",
        "metadata",
    }
    assert hit["metadata"]["kind"] == "animal"
    assert set(body["timings"]) == {"embed_ms", "search_ms"}
    assert body["timings"]["embed_ms"] > 0


async def test_websearch_syntax(client, loaded: Collection) -> None:
    def text(q: str) -> set[str]:
        return set(_ids(_search(client, collection=loaded.name, query=q, mode="text", k=10)))

    assert text('"programming language"') == {"python", "rust"}
    assert text("programming -rust") == {"python"}
    assert text("mice or yarn") == {"cats", "kittens"}
    assert text("purr kitten") == {"cats", "kittens"}  # plain words: any of them
    assert text("the and of") == set()  # only stop words: no lexemes, no error
    assert text(" ".join(["database"] * 1100)) == {"postgres"}  # capped, not an error


async def test_filters_and_include_text(client, loaded: Collection) -> None:
    response = _search(
        client,
        collection=loaded.name,
        query="language",
        k=10,
        filter={"kind": "software", "year": {"$gte": 1996}},
        include_text=False,
    )
    assert set(_ids(response)) == {"postgres", "rust"}
    assert all(h["text"] is None for h in response.json()["hits"])
    response = _search(
        client,
        collection=loaded.name,
        query="animal",
        mode="vector",
        k=10,
        filter={"$or": [{"source": "dogs.md"}, {"legs": {"$lt": 4}}]},
    )
    assert _ids(response) == ["dogs"]


async def test_query_vector(client, loaded: Collection, embedder: Embedder) -> None:
    vector = (await embedder.embed_query("relational database")).tolist()
    response = _search(client, collection=loaded.name, vector=vector, k=1)
    assert response.json()["mode"] == "vector"
    assert _ids(response) == ["postgres"]
    short = _search(client, collection=loaded.name, vector=vector[:10])
    assert short.status_code == 422
    assert "384" in short.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({}, 422, "query"),
        ({"query": "x", "k": 0}, 422, "k"),
        ({"query": "x", "k": 101}, 422, "k"),
        ({"query": "x", "mode": "fuzzy"}, 422, "mode"),
        ({"query": "x", "filter": {"year": {"$gt": True}}}, 422, "filter.year.$gt"),
        (
            {"query": "x", "filter": {"$and": [{"a": 1}, {"b": {"$near": 1}}]}},
            422,
            "filter.$and[1].b.$near",
        ),
        ({"vector": [0.1] * 384, "mode": "text"}, 422, "needs a non-empty query"),
        ({"vector": [0.0] * 384}, 422, "not all zeros"),
        ({"query": "x", "max_per_document": -1}, 422, "max_per_document"),
        ({"query": "x", "max_per_document": 101}, 422, "max_per_document"),
        ({"query": "x", "ef_search": 0}, 422, "ef_search"),
        ({"query": "x", "ef_search": 1001}, 422, "ef_search"),
        ({"query": "x", "k": 20, "ef_search": 19}, 422, "ef_search must be between k (20)"),
    ],
)
async def test_bad_requests(client, loaded: Collection, body, status, detail) -> None:
    response = _search(client, collection=loaded.name, **body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_unknown_collection_is_404(client) -> None:
    response = _search(client, collection="no-such-collection", query="x")
    assert response.status_code == 404


async def test_collection_pinned_to_another_model_is_409(
    client, session: AsyncSession, collection_name: str
) -> None:
    other = ModelSpec("local", "someone/else", 384, 256)
    await create_collection(session, other, name=collection_name)
    response = _search(client, collection=collection_name, query="x")
    assert response.status_code == 409
    assert "someone/else" in response.json()["detail"]


async def test_similar_documents(client, loaded: Collection) -> None:
    url = f"/v1/collections/{loaded.name}/documents/cats/similar"
    response = client.get(url, params={"k": 3})
    assert response.status_code == 200, response.text
    found = [d["external_id"] for d in response.json()["documents"]]
    assert len(found) == 3 and "cats" not in found
    assert len(set(found)) == 3  # one entry per document, not per chunk
    assert found[0] == "kittens"
    assert client.get(f"/v1/collections/{loaded.name}/documents/nope/similar").status_code == 404
    assert client.get(url, params={"k": 0}).status_code == 422


async def test_hybrid_options(client, loaded: Collection) -> None:
    def ranked(mode: str, **extra: Any) -> list[str]:
        body = {"collection": loaded.name, "query": "animals that bark", "k": 6, "mode": mode}
        return _ids(_search(client, **body, **extra))

    # No text side and no document evidence (a page of several matching chunks gains).
    vector_only = {"fusion": "rrf", "text_weight": 0, "document_weight": 0}
    assert ranked("hybrid", hybrid=vector_only) == ranked("vector")
    for fusion in ("rrf", "score"):
        assert ranked("hybrid", hybrid={"fusion": fusion})[0] == "dogs"
    bad = _search(client, collection=loaded.name, query="x", hybrid={"fusion": "max"})
    assert bad.status_code == 422
    negative = _search(client, collection=loaded.name, query="x", hybrid={"document_weight": -1})
    assert negative.status_code == 422


async def test_text_config_of_the_collection(conn, session, collection_name: str) -> None:
    simple = await create_collection(session, MINILM, name=collection_name, text_config="simple")
    vectors = clustered(1)
    await load(conn, simple, [document("d", ["the cats of the house"], vectors)])
    request = SearchRequest("text", query="the", k=5)
    hits = await search(conn, SearchTarget.of(simple), request)
    assert [h.external_id for h in hits] == ["d"]  # 'simple' keeps stop words


async def test_link_pages_are_left_out_unless_asked_for(
    client, conn, loaded: Collection, embedder: Embedder
) -> None:
    """A page ingestion marked `doc_kind: links` (an index) matches words of every query and
    answers none: default search leaves it out, a filter naming `doc_kind` finds it."""
    text = "Index: cats, purr, mice, kittens, yarn, dogs, bark, Python, PostgreSQL, Rust"
    index = document(
        "genindex",
        [text],
        await embedder.embed_documents([text]),
        title="Index",
        source="genindex.html",
        metadata={"doc_kind": "links"},
    )
    await load(conn, loaded, [index])
    for mode in ("vector", "text", "hybrid"):
        found = _ids(_search(client, collection=loaded.name, query="cats purr", mode=mode, k=10))
        assert "genindex" not in found and "cats" in found
    asked = _search(client, collection=loaded.name, query="cats purr", filter={"doc_kind": "links"})
    assert _ids(asked) == ["genindex"]
    animals = _search(client, collection=loaded.name, query="cats purr", filter={"kind": "animal"})
    assert "genindex" not in _ids(animals) and "cats" in _ids(animals)


async def test_changelogs_only_answer_queries_about_versions(
    client, conn, loaded: Collection, embedder: Embedder
) -> None:
    text = "Release 2.0: cats purr louder; kittens sleep more."
    notes = document(
        "release-notes",
        [text],
        await embedder.embed_documents([text]),
        title="Release Notes",
        source="release-notes.md",
        metadata={"doc_kind": "changelog"},
    )
    await load(conn, loaded, [notes])
    usage = _ids(_search(client, collection=loaded.name, query="cats purr", mode="text"))
    assert "release-notes" not in usage and "cats" in usage
    versions = _search(client, collection=loaded.name, query="what changed for cats", mode="text")
    assert "release-notes" in _ids(versions)
