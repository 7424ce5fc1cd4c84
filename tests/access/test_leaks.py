"""The leak matrix: keys of group A and group B (read, collection c1) and an admin, planted
phrases in each group's documents, every way out of the API asked for the other group's
phrase exactly. The phrase and id never come back; what does come back matches
`visible()`, the rules written in Python."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.access.conftest import BOOT, DOCUMENTS, World, auth, visible

# key attribute, its groups, the other group's document
KEYS = [("key_a", ["A"], "bravo-doc"), ("key_b", ["B"], "alpha-doc")]


def _get(world: World, key: str, path: str, **params: str | int) -> httpx.Response:
    return httpx.get(f"{world.url}{path}", params=params, headers=auth(key), timeout=60)


def _post(world: World, key: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{world.url}{path}", json=body, headers=auth(key), timeout=120)


def _no_leak(response: httpx.Response, forbidden: str, asked: str = "") -> None:
    """Nothing of the forbidden document in the body or headers (but the question asked,
    which answers echo as their search query)."""
    phrase = DOCUMENTS[forbidden][2]
    body = response.text.replace(asked, "") if asked else response.text
    assert phrase not in body
    assert forbidden not in body
    assert phrase not in json.dumps(dict(response.headers))


def _same_404(denied: httpx.Response, missing: httpx.Response, name: str, fake: str) -> None:
    assert denied.status_code == missing.status_code == 404
    assert denied.headers["content-type"] == missing.headers["content-type"]
    assert denied.json() == json.loads(missing.text.replace(fake, name))


@pytest.mark.parametrize(("attr", "groups", "forbidden"), KEYS)
def test_collections_list_and_get(world: World, attr: str, groups: list[str], forbidden: str):
    key = getattr(world, attr)
    listed = _get(world, key, "/v1/collections")
    assert listed.status_code == 200
    [only] = listed.json()["collections"]
    assert only["name"] == "c1"
    assert only["document_count"] == len(visible(groups, ["c1"]))
    _same_404(
        _get(world, key, "/v1/collections/c2"),
        _get(world, key, "/v1/collections/nosuch"),
        "c2",
        "nosuch",
    )
    _no_leak(listed, forbidden)
    # OpenAI clients list collections as models: the same scope applies.
    models = _get(world, key, "/v1/models")
    assert models.status_code == 200
    assert [m["id"] for m in models.json()["data"]] == ["c1"]


@pytest.mark.parametrize(("attr", "groups", "forbidden"), KEYS)
@pytest.mark.parametrize("mode", ["text", "hybrid", "vector"])
def test_search_never_returns_the_other_groups_rows(
    world: World, attr: str, groups: list[str], forbidden: str, mode: str
) -> None:
    key = getattr(world, attr)
    phrase = DOCUMENTS[forbidden][2]
    # The forbidden chunk's own text: the best possible match for every mode.
    exact = f"{phrase}. This note about {phrase} is filed under {forbidden}."
    for query in (phrase, exact):
        found = _post(world, key, "/v1/search", {"collection": "c1", "query": query, "mode": mode})
        assert found.status_code == 200, found.text
        _no_leak(found, forbidden)
    everything = _post(
        world, key, "/v1/search", {"collection": "c1", "query": "note filed", "mode": mode}
    )
    assert {h["external_id"] for h in everything.json()["hits"]} == visible(groups, ["c1"])
    pinned = _post(
        world,
        key,
        "/v1/search",
        {"collection": "c1", "query": exact, "mode": mode, "filter": {"external_id": forbidden}},
    )
    assert pinned.status_code == 200
    assert pinned.json()["hits"] == []
    other = _post(world, key, "/v1/search", {"collection": "c2", "query": "cobalt", "mode": mode})
    assert other.status_code == 404


@pytest.mark.parametrize(("attr", "groups", "forbidden"), KEYS)
def test_ask_json_and_stream(world: World, attr: str, groups: list[str], forbidden: str) -> None:
    key = getattr(world, attr)
    question = f"What does {DOCUMENTS[forbidden][2]} say?"
    answer = _post(world, key, "/v1/ask", {"collection": "c1", "question": question, "k": 10})
    assert answer.status_code == 200, answer.text
    _no_leak(answer, forbidden, question)
    titles = {s["chunk_id"] for s in answer.json()["sources"]}
    assert len(titles) == len(visible(groups, ["c1"]))
    stream = _post(
        world, key, "/v1/ask", {"collection": "c1", "question": question, "stream": True}
    )
    assert stream.status_code == 200
    assert "event: sources" in stream.text
    _no_leak(stream, forbidden, question)


@pytest.mark.parametrize(("attr", "forbidden"), [(a, f) for a, _, f in KEYS])
@pytest.mark.parametrize("stream", [False, True])
def test_chat_completions(world: World, attr: str, forbidden: str, stream: bool) -> None:
    key = getattr(world, attr)
    body = {
        "model": "c1",
        "messages": [{"role": "user", "content": DOCUMENTS[forbidden][2]}],
        "stream": stream,
    }
    answer = _post(world, key, "/v1/chat/completions", body)
    assert answer.status_code == 200, answer.text
    _no_leak(answer, forbidden)


@pytest.mark.parametrize(("attr", "groups", "forbidden"), KEYS)
def test_similar_seed_and_results(
    world: World, attr: str, groups: list[str], forbidden: str
) -> None:
    key = getattr(world, attr)
    base = "/v1/collections/c1/documents"
    _same_404(
        _get(world, key, f"{base}/{forbidden}/similar"),
        _get(world, key, f"{base}/nosuch/similar"),
        forbidden,
        "nosuch",
    )
    own = next(iter(sorted(visible(groups, ["c1"]))))
    similar = _get(world, key, f"{base}/{own}/similar", k=10)
    assert similar.status_code == 200
    found = {d["external_id"] for d in similar.json()["documents"]}
    assert found == visible(groups, ["c1"]) - {own}
    _no_leak(similar, forbidden)


@pytest.mark.parametrize(("attr", "groups", "forbidden"), KEYS)
def test_documents_get_delete_and_jobs(
    world: World, attr: str, groups: list[str], forbidden: str
) -> None:
    key = getattr(world, attr)
    base = "/v1/collections/c1/documents"
    _same_404(
        _get(world, key, f"{base}/{forbidden}", chunks="true"),
        _get(world, key, f"{base}/nosuch", chunks="true"),
        forbidden,
        "nosuch",
    )
    denied = httpx.delete(f"{world.url}{base}/{forbidden}", headers=auth(key), timeout=30)
    assert denied.status_code == 403  # a read key on a write route, in its collection
    assert _get(world, BOOT, f"{base}/{forbidden}").status_code == 200
    for own in visible(groups, ["c1"]):
        assert _get(world, key, f"{base}/{own}").json()["id"] == own
    job = httpx.post(
        f"{world.url}/v1/collections/c2/files",
        files={"files": ("x.txt", b"cobalt lighthouse again")},
        headers=auth(BOOT),
        timeout=30,
    )
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]
    _same_404(
        _get(world, key, f"/v1/jobs/{job_id}"),
        _get(world, key, f"/v1/jobs/{uuid.UUID(int=1)}"),
        job_id,
        str(uuid.UUID(int=1)),
    )


def test_write_key_deletes_only_what_it_sees(world: World) -> None:
    writer = httpx.post(
        f"{world.url}/v1/keys",
        json={"name": "writer-a", "role": "write", "collections": ["c1"], "groups": ["A"]},
        headers=auth(BOOT),
        timeout=30,
    ).json()["key"]
    base = f"{world.url}/v1/collections"
    hidden = httpx.delete(f"{base}/c1/documents/bravo-doc", headers=auth(writer), timeout=30)
    assert hidden.status_code == 404
    assert httpx.get(f"{base}/c1/documents/bravo-doc", headers=auth(BOOT)).status_code == 200
    out_of_scope = httpx.delete(f"{base}/c2/documents/other-doc", headers=auth(writer))
    assert out_of_scope.status_code == 404
    assert out_of_scope.json()["detail"] == "collection 'c2' does not exist"
    admin_only = httpx.delete(f"{base}/c1", headers=auth(writer))
    assert admin_only.status_code == 403
    assert httpx.get(f"{base}/c1", headers=auth(world.admin)).status_code == 200
    mine = {"documents": [{"id": "scratch-doc", "text": "scratch", "access": ["A"]}]}
    added = httpx.post(f"{base}/c1/documents", json=mine, headers=auth(writer), timeout=60)
    assert added.json()["added"] == 1
    deleted = httpx.delete(f"{base}/c1/documents/scratch-doc", headers=auth(writer))
    assert deleted.status_code == 204
    assert httpx.get(f"{base}/c1/documents/scratch-doc", headers=auth(BOOT)).status_code == 404
    events = httpx.get(f"{world.url}/v1/audit", headers=auth(BOOT)).json()["events"]
    assert events[0]["action"] == "document.deleted"
    assert (events[0]["target"], events[0]["key_name"]) == ("c1/scratch-doc", "writer-a")


def test_admin_sees_everything(world: World) -> None:
    listed = _get(world, world.admin, "/v1/collections").json()["collections"]
    assert {c["name"] for c in listed} >= {"c1", "c2"}
    everything = _post(
        world,
        world.admin,
        "/v1/search",
        {"collection": "c1", "query": "note filed", "mode": "hybrid"},
    )
    assert {h["external_id"] for h in everything.json()["hits"]} == visible(["A", "B"], None) - {
        "other-doc"
    }
