"""Documents sent through the API are stored as sent: the run-level filter of repeated
short chunks (ingest/repeated.py) is for files and sources' pages only."""

from __future__ import annotations

import uuid

import httpx


def test_documents_sent_alike_are_all_stored(client: httpx.Client) -> None:
    name = f"sent-{uuid.uuid4().hex[:8]}"
    assert client.post("/v1/collections", json={"name": name}).status_code == 201
    documents = [{"id": f"d{n}", "text": "Part of the example suite."} for n in range(6)]
    stored = client.post(f"/v1/collections/{name}/documents", json={"documents": documents})
    assert stored.status_code == 200, stored.text
    found = client.post(
        "/v1/search",
        json={"collection": name, "query": "example suite", "mode": "text", "k": 10},
    )
    assert found.status_code == 200, found.text
    assert sorted(h["external_id"] for h in found.json()["hits"]) == [f"d{n}" for n in range(6)]
