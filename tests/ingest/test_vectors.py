"""POST /v1/collections/{c}/documents with precomputed `documents[].vector`: each such
document is stored as exactly one chunk with that vector and never sent to the embedding
provider (here the `openai` provider against the fake server, whose request log shows every
embedding call), over real HTTP into the real database."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from app.config import Settings
from tests.fake_openai import FakeOpenAI
from tests.ingest.conftest import docs_path
from tests.servers import ServerThread

DIMS = 8
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def openai_server(settings: Settings, fake_openai_server: FakeOpenAI) -> Iterator[ServerThread]:
    from app.main import create_app

    openai_settings = settings.model_copy(
        update={
            "embedding_provider": "openai",
            "embedding_model": "text-embedding-3-small",
            "embedding_dimensions": DIMS,
            "openai_base_url": fake_openai_server.base_url,
        }
    )
    with ServerThread(create_app(openai_settings)) as running:
        yield running


@pytest.fixture
def http(openai_server: ServerThread, fake_openai: FakeOpenAI) -> Iterator[httpx.Client]:
    del fake_openai  # reset before (and checked after) each test
    with httpx.Client(base_url=openai_server.url, timeout=60) as client:
        yield client


def _vector(seed: int) -> list[float]:
    return [float(v) for v in np.random.default_rng(seed).standard_normal(DIMS)]


def _embedded_texts(fake: FakeOpenAI) -> list[str]:
    return [t for r in fake.requests if r.path.endswith("/embeddings") for t in r.inputs]


def _stored(pg_dsn: str, coll: str, external_id: str) -> list[tuple[str, np.ndarray]]:
    with psycopg.connect(pg_dsn) as conn:
        register_vector(conn)
        rows = conn.execute(
            "SELECT c.text, c.embedding FROM chunks c JOIN documents d ON d.id = c.document_id"
            " JOIN collections k ON k.id = d.collection_id"
            " WHERE k.name = %s AND d.external_id = %s ORDER BY c.ordinal",
            (coll, external_id),
        ).fetchall()
    return [(text, np.asarray(embedding.to_list())) for text, embedding in rows]


def test_vectors_are_stored_as_one_chunk_each_without_embedding(
    http: httpx.Client, coll: str, fake_openai: FakeOpenAI, pg_dsn: str
) -> None:
    long_text = "A sentence that would be chunked many times over. " * 400
    batch = {
        "documents": [
            {"id": "long", "text": long_text, "vector": _vector(1)},
            {"id": "short", "text": "Short passage.", "vector": _vector(2)},
        ]
    }
    first = http.post(docs_path(coll), json=batch)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["added"], body["chunks"], body["embedded"]) == (2, 2, 0)
    assert _embedded_texts(fake_openai) == []

    stored = _stored(pg_dsn, coll, "long")
    assert [text for text, _ in stored] == [long_text.strip()]
    np.testing.assert_allclose(stored[0][1], _vector(1), rtol=1e-6)

    hits = http.post(
        "/v1/search", json={"collection": coll, "vector": _vector(2), "k": 1, "mode": "vector"}
    )
    assert hits.status_code == 200, hits.text
    assert [h["external_id"] for h in hits.json()["hits"]] == ["short"]


def test_a_new_vector_for_the_same_text_replaces_it(
    http: httpx.Client, coll: str, fake_openai: FakeOpenAI, pg_dsn: str
) -> None:
    doc = {"id": "d", "text": "Same words."}
    assert http.post(
        docs_path(coll), json={"documents": [{**doc, "vector": _vector(3)}]}
    ).is_success
    again = http.post(docs_path(coll), json={"documents": [{**doc, "vector": _vector(3)}]}).json()
    assert (again["unchanged"], again["embedded"]) == (1, 0)

    changed = http.post(docs_path(coll), json={"documents": [{**doc, "vector": _vector(4)}]}).json()
    assert (changed["updated"], changed["chunks"]) == (1, 1)
    [(_, embedding)] = _stored(pg_dsn, coll, "d")
    np.testing.assert_allclose(embedding, _vector(4), rtol=1e-6)
    assert _embedded_texts(fake_openai) == []


def test_only_documents_without_a_vector_are_embedded(
    http: httpx.Client, coll: str, fake_openai: FakeOpenAI
) -> None:
    batch = {
        "documents": [
            {"id": "given", "text": "Has its own vector.", "vector": _vector(5)},
            {"id": "plain", "text": "Needs embedding."},
        ]
    }
    body = http.post(docs_path(coll), json=batch).json()
    assert (body["added"], body["embedded"]) == (2, 1)
    assert _embedded_texts(fake_openai) == ["Needs embedding."]


@pytest.mark.parametrize(
    ("vector", "says"),
    [
        ([0.5] * (DIMS - 1), f"documents[1].vector has {DIMS - 1} values"),
        ([0.0] * DIMS, "documents[1].vector: all zeros"),
        ([float("nan")] + [0.5] * (DIMS - 1), "finite number"),
        ([float("inf")] + [0.5] * (DIMS - 1), "finite number"),
        (["half"] + [0.5] * (DIMS - 1), "valid number"),
        ([[0.5]] * DIMS, "valid number"),
        ("0.5", "valid list"),
    ],
)
def test_a_bad_vector_is_422_and_stores_nothing(
    http: httpx.Client, coll: str, fake_openai: FakeOpenAI, vector: object, says: str
) -> None:
    batch = {
        "documents": [
            {"id": "good", "text": "Fine.", "vector": _vector(6)},
            {"id": "bad", "text": "Broken vector.", "vector": vector},
        ]
    }
    # json.dumps writes NaN and Infinity, as a careless client would.
    sent = http.post(
        docs_path(coll), content=json.dumps(batch), headers={"content-type": "application/json"}
    )
    assert sent.status_code == 422, sent.text
    assert sent.headers["content-type"].startswith(PROBLEM)
    assert says in sent.text
    assert http.get(docs_path(coll) + "/good").status_code == 404
    assert _embedded_texts(fake_openai) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"documents": [{"id": "a", "text": "x", "vector": [0.5,', "JSON decode error"),
        (b"[1, 2]", "valid dictionary"),
        (b'{"documents": []}', "at least 1 item"),
    ],
)
def test_a_body_that_is_no_batch_is_422(
    http: httpx.Client, coll: str, body: bytes, says: str
) -> None:
    sent = http.post(docs_path(coll), content=body, headers={"content-type": "application/json"})
    assert sent.status_code == 422, sent.text
    assert sent.headers["content-type"].startswith(PROBLEM)
    assert says in sent.text
