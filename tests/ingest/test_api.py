"""The documents, files and jobs API over real HTTP, with the in-server ingest worker."""

from __future__ import annotations

import time

import httpx
import pytest

from ingest.batches import BATCH_CHUNKS
from tests.ingest.conftest import docs_path
from tests.ingest.pdfs import make_pdf

PROBLEM = "application/problem+json"


@pytest.fixture
def http(ingest_server):
    with httpx.Client(base_url=ingest_server.url, timeout=120) as client:
        yield client


def test_document_batch_is_stored_and_idempotent(http: httpx.Client, coll: str) -> None:
    batch = {
        "documents": [
            {
                "id": "guides/install.md",
                "text": "Install with pip.",
                "title": "Install",
                "source": "https://example.com/install",
                "metadata": {"lang": "en"},
            },
            {"id": "faq", "text": "Questions and answers. " * 200},
        ]
    }
    first = http.post(docs_path(coll), json=batch)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["added"], body["updated"], body["unchanged"], body["failed"]) == (2, 0, 0, 0)
    assert body["chunks"] > 2  # the long one is split

    again = http.post(docs_path(coll), json=batch).json()
    assert (again["unchanged"], again["embedded"]) == (2, 0)

    got = http.get(docs_path(coll) + "/guides/install.md", params={"chunks": "true"})
    assert got.status_code == 200
    doc = got.json()
    assert (doc["id"], doc["title"], doc["metadata"], doc["chunk_count"]) == (
        "guides/install.md",
        "Install",
        {"lang": "en"},
        1,
    )
    assert doc["chunks"][0]["text"] == "Install with pip."

    assert http.delete(docs_path(coll) + "/guides/install.md").status_code == 204
    missing = http.get(docs_path(coll) + "/guides/install.md")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert http.delete(docs_path(coll) + "/guides/install.md").status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"documents": []}, 422),
        ({"documents": [{"id": "a", "text": "   "}]}, 422),
        ({"documents": [{"id": "a", "text": "has \u0000 nul"}]}, 422),
        ({"documents": [{"id": "\u202egnp.md", "text": "bidi override"}]}, 422),
        ({"documents": [{"id": "a\nforged log line", "text": "newline"}]}, 422),
        ({"documents": [{"id": "ok", "text": "x"}, {"id": "b\u2066c", "text": "isolate"}]}, 422),
        ({"documents": [{"id": f"d{i}", "text": "x"} for i in range(51)]}, 413),
        ({"documents": [{"id": "big", "text": "x" * (2 * 2**20)}]}, 413),
    ],
)
def test_bad_batches_are_refused_and_store_nothing(
    http: httpx.Client, coll: str, body: dict, status: int
) -> None:
    response = http.post(docs_path(coll), json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert http.get(f"/v1/collections/{coll}").json()["document_count"] == 0


def test_unknown_collection_is_404(http: httpx.Client) -> None:
    response = http.post(docs_path("no-such"), json={"documents": [{"id": "a", "text": "x"}]})
    assert response.status_code == 404


def _wait_for_job(http: httpx.Client, location: str) -> dict:
    deadline = time.monotonic() + 120
    while True:
        job = http.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_uploaded_files_become_a_job_the_worker_runs(http: httpx.Client, coll: str) -> None:
    files = [
        ("files", ("docs/a.md", b"# A\n\nalpha text", "text/markdown")),
        ("files", ("b.pdf", make_pdf(["bravo page"]), "application/pdf")),
        ("files", ("c.jsonl", b'{"_id": "c1", "text": "charlie"}\n{"_id": "c2"}\n', "x")),
        ("files", ("empty.txt", b"", "text/plain")),
        ("files", ("img/d.svg", b'<?xml version="1.0"?>\n<svg><path d="M0 0"/></svg>', "x")),
    ]
    response = http.post(f"/v1/collections/{coll}/files", files=files)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["location"]
    job = _wait_for_job(http, response.headers["location"])
    assert job["status"] == "failed", job  # some files failed; the rest are stored
    assert (job["total"], job["done"], job["failed"]) == (6, 6, 3)
    errors = sorted((e["path"], e["error"]) for e in job["errors"])
    assert [path for path, _ in errors] == ["c.jsonl: line 2", "empty.txt", "img/d.svg"]
    assert errors[2][1] == "not prose: SVG image"
    assert job["result"]["added"] == 3 and job["collection"] == coll
    assert http.get(docs_path(coll) + "/docs/a.md").json()["chunk_count"] == 1


def test_upload_limits_and_unknown_job(http: httpx.Client, coll: str) -> None:
    big = [("files", ("big.txt", b"x" * (2 * 2**20), "text/plain"))]
    assert http.post(f"/v1/collections/{coll}/files", files=big).status_code == 413
    many = [("files", (f"{i}.md", b"a", "text/plain")) for i in range(1001)]
    too_many = http.post(f"/v1/collections/{coll}/files", files=many)
    assert too_many.status_code == 413 and too_many.headers["content-type"] == PROBLEM
    assert too_many.json()["detail"] == "more than PGASK_INGEST_MAX_UPLOAD_FILES (1000) files"
    twice = [("files", ("a.md", b"a", "text/plain"))] * 2
    assert http.post(f"/v1/collections/{coll}/files", files=twice).status_code == 422
    unknown = http.get("/v1/jobs/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM


def test_job_progress_is_visible_while_it_runs(http: httpx.Client, coll: str) -> None:
    total = BATCH_CHUNKS * 3 // 2  # two write batches: progress shows after the first
    lines = "\n".join(f'{{"_id": "d{i}", "text": "passage {i} of many"}}' for i in range(total))
    files = [("files", ("many.jsonl", lines.encode(), "application/jsonl"))]
    location = http.post(f"/v1/collections/{coll}/files", files=files).headers["location"]
    seen = []
    while (job := http.get(location).json())["status"] not in ("succeeded", "failed"):
        seen.append((job["status"], job["done"]))
        time.sleep(0.05)
    assert job["status"] == "succeeded" and job["done"] == job["total"] == total
    assert any(status == "running" and 0 < done < total for status, done in seen), seen
