"""PostgreSQL itself refuses the rows: a principal's transaction with no WHERE at all sees
only what the rules allow; changing only `access` re-embeds nothing; bad key input is a
clear 4xx and stores nothing."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from app.access import Principal, apply_principal
from tests.access.conftest import BOOT, DOCUMENTS, World, auth, group_keys, visible


async def _count(dsn: str, principal: Principal | None, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await apply_principal(conn, principal)
        cursor = await conn.execute(f"SELECT count(*) FROM {table}")  # a fixed table name
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("groups", "collections"),
    [(["A"], ("c1",)), (["B"], ("c1",)), ([], ("c1", "c2")), (["A", "B"], ("c1", "c2"))],
)
@pytest.mark.usefixtures("world")
async def test_count_without_where_sees_only_permitted_rows(
    access_dsn: str, groups: list[str], collections: tuple[str, ...]
) -> None:
    principal = Principal("t", "read", collections, tuple(groups))
    expected = visible(groups, list(collections))
    # one chunk per planted document
    assert await _count(access_dsn, principal, "chunks") == len(expected)
    assert await _count(access_dsn, principal, "documents") == len(expected)
    assert await _count(access_dsn, None, "documents") >= len(DOCUMENTS)
    # the settings end with the transaction: the next one on that connection is unscoped
    async with await psycopg.AsyncConnection.connect(access_dsn) as conn:
        async with conn.transaction():
            await apply_principal(conn, principal)
        cursor = await conn.execute("SELECT current_user <> 'pgask_scoped'")
        assert (await cursor.fetchone() or (False,))[0]


@pytest.mark.anyio
@pytest.mark.usefixtures("world")
async def test_scoped_role_without_settings_sees_nothing(access_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(access_dsn) as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pgask_scoped")
        cursor = await conn.execute("SELECT count(*) FROM chunks")
        assert (await cursor.fetchone() or (1,))[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("SELECT count(*) FROM api_keys")


def test_changing_only_access_updates_without_embedding(world: World) -> None:
    key_a, key_b = group_keys(world.url, "moving")
    url = f"{world.url}/v1/collections/moving/documents"
    text = "the saffron glacier memo, filed for access tests."
    first = {"documents": [{"id": "moving-doc", "text": text, "access": ["A"]}]}
    assert httpx.post(url, json=first, headers=auth(BOOT), timeout=60).json()["added"] == 1
    seen_by_b = httpx.get(f"{url}/moving-doc", headers=auth(key_b), timeout=30)
    assert seen_by_b.status_code == 404
    moved = {"documents": [{"id": "moving-doc", "text": text, "access": ["B"]}]}
    result = httpx.post(url, json=moved, headers=auth(BOOT), timeout=60).json()
    assert (result["updated"], result["embedded"], result["unchanged"]) == (1, 0, 0)
    assert httpx.get(f"{url}/moving-doc", headers=auth(key_b)).json()["access"] == ["B"]
    assert httpx.get(f"{url}/moving-doc", headers=auth(key_a)).status_code == 404
    found = httpx.post(
        f"{world.url}/v1/search",
        json={"collection": "moving", "query": "saffron glacier", "mode": "text"},
        headers=auth(key_b),
        timeout=30,
    ).json()["hits"]
    assert [h["external_id"] for h in found] == ["moving-doc"]  # the chunk moved too
    again = httpx.post(url, json=moved, headers=auth(BOOT), timeout=60).json()
    assert (again["unchanged"], again["embedded"]) == (1, 0)


BAD_KEYS = [
    ({"name": "x1", "role": "owner"}, 422, "role"),
    ({"name": "", "role": "read"}, 422, "name"),
    ({"name": "x2", "role": "read", "collections": ["nosuch"]}, 422, "nosuch"),
    ({"name": "x3", "role": "read", "groups": ["bad\x07group"]}, 422, "control"),
    ({"name": "x4", "role": "read", "expires_in_days": -1}, 422, "expires"),
    ({"name": "x5", "role": "read", "collections": []}, 422, "at least one"),
    ({"name": "team-a", "role": "read"}, 409, "already exists"),
]


@pytest.mark.parametrize(("body", "status", "words"), BAD_KEYS)
def test_bad_key_input_is_a_clear_4xx_and_stores_nothing(
    world: World, body: dict[str, object], status: int, words: str
) -> None:
    before = httpx.get(f"{world.url}/v1/keys", headers=auth(BOOT)).json()["keys"]
    refused = httpx.post(f"{world.url}/v1/keys", json=body, headers=auth(BOOT), timeout=30)
    assert refused.status_code == status
    assert refused.headers["content-type"] == "application/problem+json"
    assert words in refused.json()["detail"]
    assert httpx.get(f"{world.url}/v1/keys", headers=auth(BOOT)).json()["keys"] == before


def test_bad_access_groups_and_roles_on_routes(world: World) -> None:
    url = f"{world.url}/v1/collections/c1/documents"
    bad = {"documents": [{"id": "x", "text": "y", "access": ["tab\there"]}]}
    refused = httpx.post(url, json=bad, headers=auth(BOOT), timeout=30)
    assert refused.status_code == 422
    assert httpx.get(f"{url}/x", headers=auth(BOOT)).status_code == 404
    read_write = httpx.post(
        url, json={"documents": [{"id": "x", "text": "y"}]}, headers=auth(world.key_a), timeout=30
    )
    assert read_write.status_code == 403
    for path in ("/v1/keys", "/v1/audit"):
        assert httpx.get(f"{world.url}{path}", headers=auth(world.key_a)).status_code == 403


def test_keys_list_never_shows_secrets_and_audit_records_actions(world: World) -> None:
    listed = httpx.get(f"{world.url}/v1/keys", headers=auth(world.admin), timeout=30)
    assert {"team-a", "team-b", "root"} <= {k["name"] for k in listed.json()["keys"]}
    for secret in (world.key_a, world.key_b, world.admin, world.admin[:16]):
        assert secret not in listed.text
    events = httpx.get(f"{world.url}/v1/audit", headers=auth(world.admin)).json()["events"]
    actions = {(e["action"], e["target"], e["key_name"]) for e in events}
    assert ("key.created", "team-a", "boot") in actions
    assert ("collection.created", "c1", "boot") in actions
