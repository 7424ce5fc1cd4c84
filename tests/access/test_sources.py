"""The leak matrix of /v1/sources: a source is seen by keys of its collection that hold one of
its groups (any key of the collection when it has none), and otherwise answers exactly as a
missing one does; only admins add or remove one, and write keys may sync what they see."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.access.conftest import World, auth, make_key


def _call(world: World, key: str, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, f"{world.url}{path}", json=body, headers=auth(key), timeout=60)


def _names(world: World, key: str) -> set[str]:
    response = _call(world, key, "GET", "/v1/sources")
    assert response.status_code == 200, response.text
    return {s["name"] for s in response.json()["sources"]}


def test_sources_obey_collections_and_groups(world: World, tmp_path: Path) -> None:
    folder = str(tmp_path)
    made = [
        ("src-a", "c1", ["A"]),
        ("src-b", "c1", ["B"]),
        ("src-all", "c1", []),
        ("src-c2", "c2", []),
    ]
    for name, collection, access in made:
        body = {
            "name": name,
            "collection": collection,
            "kind": "folder",
            "options": {"path": folder},
            "access": access,
        }
        response = _call(world, world.admin, "POST", "/v1/sources", body)
        assert response.status_code == 201, response.text
    writer_b = make_key(world.url, "src-writer-b", role="write", collections=["c1"], groups=["B"])
    try:
        assert _names(world, world.key_a) == {"src-a", "src-all"}
        assert _names(world, world.key_b) == {"src-b", "src-all"}
        assert _names(world, world.admin) >= {name for name, _, _ in made}

        missing = _call(world, world.key_a, "GET", "/v1/sources/no-such-source")
        for hidden in ("src-b", "src-c2"):
            response = _call(world, world.key_a, "GET", f"/v1/sources/{hidden}")
            assert response.status_code == 404
            assert response.json()["detail"] == missing.json()["detail"].replace(
                "no-such-source", hidden
            )
            assert "folder" not in response.text  # nothing of the source shows
        assert _call(world, world.key_a, "GET", "/v1/sources/src-a").json()["access"] == ["A"]

        # Syncing: read keys never; a write key only what it sees (the rest looks missing).
        assert _call(world, world.key_a, "POST", "/v1/sources/src-a/sync").status_code == 403
        assert _call(world, writer_b, "POST", "/v1/sources/src-a/sync").status_code == 404
        assert _call(world, writer_b, "POST", "/v1/sources/src-c2/sync").status_code == 404
        queued = _call(world, writer_b, "POST", "/v1/sources/src-b/sync")
        assert queued.status_code == 202, queued.text
        job = _call(world, world.key_a, "GET", f"/v1/jobs/{queued.json()['job_id']}")
        assert job.status_code == 404  # the sync's job carries the source's groups
        assert _call(world, world.key_b, "GET", f"/v1/jobs/{queued.json()['job_id']}").is_success

        # Adding and removing: admins only, whoever sees the source.
        body = {"name": "by-writer", "collection": "c1", "kind": "folder", "options": {}}
        for key in (world.key_a, writer_b):
            assert _call(world, key, "POST", "/v1/sources", body).status_code == 403
            assert _call(world, key, "DELETE", "/v1/sources/src-all").status_code == 403
        assert "by-writer" not in _names(world, world.admin)
    finally:
        for name, _, _ in made:
            gone = _call(world, world.admin, "DELETE", f"/v1/sources/{name}")
            assert gone.status_code == 204, gone.text
    assert _call(world, world.admin, "GET", "/v1/sources/src-a").status_code == 404


def test_bad_sources_are_problems(world: World, tmp_path: Path) -> None:
    """Bad input is a 422 problem naming the field, and nothing is stored."""
    cases: list[tuple[dict[str, object], str]] = [
        ({"kind": "ftp"}, "kind: unknown source kind 'ftp'"),
        ({"options": {"path": str(tmp_path / "none")}}, "options.path: "),
        ({"options": {"path": str(tmp_path), "depth": 2}}, "options.depth: Extra inputs"),
        ({"name": "a/b"}, "name: 'a/b' must be"),
        ({"interval_seconds": 5}, "interval: 5 s; between 60 s"),
        ({"access": ["*"]}, "access: '*' is not a group name"),
        ({"collection": "no-such-collection"}, "collection 'no-such-collection' does not exist"),
    ]
    for change, detail in cases:
        body: dict[str, object] = {
            "name": "bad-source",
            "collection": "c1",
            "kind": "folder",
            "options": {"path": str(tmp_path)},
        } | change
        response = _call(world, world.admin, "POST", "/v1/sources", body)
        assert response.status_code in (404, 422), response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"].startswith(detail), (change, response.text)
    assert "bad-source" not in _names(world, world.admin)
