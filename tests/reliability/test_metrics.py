"""/metrics moves with the work done: embedding calls (by kind) and ingested documents and
chunks, read over real HTTP before and after a search and an ingest."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def sample(http: httpx.Client, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when it has not appeared yet)."""
    text = http.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


def test_search_and_ingest_move_the_counters(client: httpx.Client, seeded: str) -> None:
    queries = "pgask_embedding_duration_seconds_count"
    before_query = sample(client, queries, provider="local", kind="query")
    before_docs = sample(client, queries, provider="local", kind="documents")
    before_added = sample(client, "pgask_ingest_documents_total", outcome="added")
    before_unchanged = sample(client, "pgask_ingest_documents_total", outcome="unchanged")
    before_chunks = sample(client, "pgask_ingest_chunks_total")

    searched = client.post("/v1/search", json={"collection": seeded, "query": "HNSW index"})
    assert searched.status_code == 200
    batch = {"documents": [{"id": "metrics/new", "text": "Counters count."}]}
    added = client.post(f"/v1/collections/{seeded}/documents", json=batch).json()
    again = client.post(f"/v1/collections/{seeded}/documents", json=batch).json()

    assert sample(client, queries, provider="local", kind="query") == before_query + 1
    assert sample(client, queries, provider="local", kind="documents") == before_docs + 1
    assert sample(client, "pgask_ingest_documents_total", outcome="added") == before_added + 1
    assert (
        sample(client, "pgask_ingest_documents_total", outcome="unchanged")
        == before_unchanged + again["unchanged"]
    )
    assert sample(client, "pgask_ingest_chunks_total") == before_chunks + added["chunks"]
    assert added["chunks"] >= 1
    client.delete(f"/v1/collections/{seeded}/documents/metrics/new")
