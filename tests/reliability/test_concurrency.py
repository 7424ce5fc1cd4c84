"""8 clients ingest overlapping sets of documents while 8 others search, over real HTTP:
no errors, no duplicate documents or chunks, and every document has the chunks a
sequential run gives it."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.reliability.conftest import stored_documents
from tests.servers import ServerThread

INGESTERS = 8
SEARCHERS = 8
POOL = 24  # documents; ingester i sends documents 3i .. 3i+7 (mod POOL), two batches
WORDS = ["index", "vector", "page", "tuple", "query", "plan", "merge", "rank", "token", "heap"]


def _document(n: int) -> dict[str, object]:
    # Several paragraphs so most documents are more than one chunk.
    paragraphs = [
        " ".join(WORDS[(n + p + w) % len(WORDS)] for w in range(60)) + f" doc{n} part{p}."
        for p in range(1 + n % 3)
    ]
    return {"id": f"doc-{n:02d}", "text": "\n\n".join(paragraphs), "metadata": {"n": n}}


def _sets(ingester: int) -> list[list[dict[str, object]]]:
    ids = [(3 * ingester + k) % POOL for k in range(8)]
    return [[_document(n) for n in ids[:4]], [_document(n) for n in ids[4:]]]


def test_concurrent_ingest_and_search(server: ServerThread, pg_dsn: str) -> None:
    name, reference = f"conc-{uuid.uuid4().hex[:8]}", f"seq-{uuid.uuid4().hex[:8]}"
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    ingesting = threading.Event()
    ingesting.set()

    def record(kind: str, response: httpx.Response) -> None:
        with lock:
            statuses[f"{kind} {response.status_code}"] += 1

    def ingest(ingester: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for batch in _sets(ingester):
                response = http.post(f"/v1/collections/{name}/documents", json={"documents": batch})
                record("ingest", response)

    def search(searcher: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            while ingesting.is_set():
                body = {"collection": name, "query": WORDS[searcher], "k": 5}
                record("search", http.post("/v1/search", json=body))

    with httpx.Client(base_url=server.url, timeout=120) as http:
        for collection in (name, reference):
            assert http.post("/v1/collections", json={"name": collection}).status_code == 201
        with ThreadPoolExecutor(INGESTERS + SEARCHERS) as pool:
            searches = [pool.submit(search, s) for s in range(SEARCHERS)]
            ingests = [pool.submit(ingest, i) for i in range(INGESTERS)]
            for future in ingests:
                future.result()
            ingesting.clear()
            for future in searches:
                future.result()
        # The same documents, once each, alone.
        every = {"documents": [_document(n) for n in range(POOL)]}
        assert http.post(f"/v1/collections/{reference}/documents", json=every).status_code == 200
        concurrent, sequential = stored_documents(pg_dsn, name), stored_documents(pg_dsn, reference)
        for collection in (name, reference):
            http.delete(f"/v1/collections/{collection}")

    print(
        f"\nconcurrency: {dict(statuses)}; {len(concurrent)} documents,"
        f" {sum(c[1] for c in concurrent.values())} chunks"
    )
    assert set(statuses) == {"ingest 200", "search 200"}, statuses
    assert statuses["ingest 200"] == 2 * INGESTERS
    assert concurrent == sequential
    assert len(concurrent) == POOL
    assert all(count == stored == ordinals for count, stored, ordinals in concurrent.values())
