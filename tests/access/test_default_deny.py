"""Default deny (docs/decisions/0014-default-deny.md): a request connection that forgets its
principal reads nothing, admins are an explicit role, and the doors that reached rows around
row-level security (export, sizes, job files, writes over hidden documents) no longer do."""

from __future__ import annotations

import io
import json
import uuid

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from app.access import Principal
from app.config import Settings
from app.db.database import Database
from tests.access.conftest import BOOT, DOCUMENTS, World, auth, make_key, visible

pytestmark = pytest.mark.anyio

PROTECTED = ("collections", "documents", "chunks", "ingest_jobs", "ingest_job_files")
UNGRANTED = ("api_keys", "audit_events")


def _database(settings: Settings) -> Database:
    # One pooled connection each way: every checkout reuses the connection the last one left.
    narrow = settings.model_copy(update={"pgask_db_pool_size": 1})
    return Database(make_url(settings.database.url or ""), narrow)


@pytest.mark.usefixtures("world")
async def test_a_request_connection_without_a_principal_sees_no_row(
    access_settings: Settings,
) -> None:
    db = _database(access_settings)
    try:
        async with db.owner_session() as owner:
            held = {t: await owner.scalar(text(f"SELECT count(*) FROM {t}")) for t in PROTECTED}
        assert all(held[t] for t in ("collections", "documents", "chunks")), held
        async with db.session(None) as session:
            role = (
                await session.execute(
                    text("SELECT current_user, usesuper FROM pg_user WHERE usename = session_user")
                )
            ).one()
            assert role[0] == "pgask_scoped"
            for table in PROTECTED:
                assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
        for table in UNGRANTED:
            with pytest.raises(ProgrammingError, match="permission denied"):
                async with db.session(None) as session:
                    await session.scalar(text(f"SELECT count(*) FROM {table}"))
        admin = Principal("root", "admin")
        async with db.connection(admin, autocommit=True) as raw:
            seen = await (await raw.execute("SELECT count(*) FROM documents")).fetchone()
            assert seen is not None and seen[0] == held["documents"]
        # The same pooled connection, handed out again without a principal.
        for autocommit in (True, False):
            async with db.connection(None, autocommit=autocommit) as raw:
                for table in PROTECTED:
                    row = await (await raw.execute(f"SELECT count(*) FROM {table}")).fetchone()
                    assert row == (0,), table
        async with db.session(admin) as session:
            await session.commit()  # later transactions of the session keep the principal
            assert await session.scalar(text("SELECT count(*) FROM documents")) == held["documents"]
    finally:
        await db.dispose()


def _get(url: str, key: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers=auth(key), timeout=60)


def test_export_is_for_admins_and_a_forbidden_collection_looks_missing(world: World) -> None:
    for key in (world.key_a, world.key_b):
        denied = _get(world.url, key, "/v1/collections/c2/export")
        missing = _get(world.url, key, "/v1/collections/nosuch/export")
        assert denied.status_code == missing.status_code == 404
        assert denied.json() == json.loads(missing.text.replace("nosuch", "c2"))
        own = _get(world.url, key, "/v1/collections/c1/export")
        assert own.status_code == 403, own.text
        for phrase in (p for _, _, p in DOCUMENTS.values()):
            assert phrase not in own.text
    exported = _get(world.url, world.admin, "/v1/collections/c1/export")
    assert exported.status_code == 200
    table = pq.read_table(io.BytesIO(exported.content), columns=["external_id"])
    assert set(table.column("external_id").to_pylist()) == visible(["A", "B"], ["c1"])


def test_import_is_for_admins(world: World) -> None:
    name = f"imp-{uuid.uuid4().hex[:6]}"
    for key in (world.key_a, world.key_b):
        refused = httpx.post(
            f"{world.url}/v1/collections/c1/import", content=b"PAR1", headers=auth(key)
        )
        assert refused.status_code == 403
        outside = httpx.post(
            f"{world.url}/v1/collections/{name}/import", content=b"PAR1", headers=auth(key)
        )
        assert outside.status_code == 404
    assert _get(world.url, BOOT, f"/v1/collections/{name}").status_code == 404


def test_sizes_only_for_keys_that_see_every_row(world: World) -> None:
    for key in (world.key_a, world.key_b):
        [listed] = _get(world.url, key, "/v1/collections").json()["collections"]
        assert listed["disk"] is None
        assert _get(world.url, key, "/v1/collections/c1").json()["disk"] is None
    admin = _get(world.url, world.admin, "/v1/collections/c1").json()["disk"]
    assert admin["heap_bytes"] > 0 and admin["vector_index_bytes"] > 0


def test_a_write_key_neither_replaces_nor_writes_what_it_cannot_read(world: World) -> None:
    writer = make_key(world.url, "writer-dd", role="write", collections=["c1"], groups=["A"])
    base = f"{world.url}/v1/collections/c1/documents"
    before = _get(world.url, BOOT, "/v1/collections/c1/documents/bravo-doc?chunks=true").json()
    taken = {"documents": [{"id": "bravo-doc", "text": "overwritten", "access": ["A"]}]}
    refused = httpx.post(base, json=taken, headers=auth(writer), timeout=60)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        "document id 'bravo-doc' is taken by a document this key cannot read"
    )
    foreign = {"documents": [{"id": f"dd-{uuid.uuid4().hex[:6]}", "text": "x", "access": ["B"]}]}
    refused = httpx.post(base, json=foreign, headers=auth(writer), timeout=60)
    assert refused.status_code == 409, refused.text
    after = _get(world.url, BOOT, "/v1/collections/c1/documents/bravo-doc?chunks=true").json()
    assert after == before
    assert (
        _get(
            world.url, BOOT, f"/v1/collections/c1/documents/{foreign['documents'][0]['id']}"
        ).status_code
        == 404
    )
    mine = {"documents": [{"id": "dd-mine", "text": "mine", "access": ["A"]}]}
    added = httpx.post(base, json=mine, headers=auth(writer), timeout=60)
    assert added.status_code == 200 and added.json()["added"] == 1
    assert httpx.delete(f"{base}/dd-mine", headers=auth(writer)).status_code == 204


def test_jobs_obey_groups(world: World) -> None:
    upload = httpx.post(
        f"{world.url}/v1/collections/c1/files",
        files={"files": ("secret-plan-b.txt", b"vermilion")},
        data={"access": "B"},
        headers=auth(BOOT),
        timeout=30,
    )
    assert upload.status_code == 202, upload.text
    job_id = upload.json()["job_id"]
    denied = _get(world.url, world.key_a, f"/v1/jobs/{job_id}")
    missing_id = str(uuid.UUID(int=7))
    missing = _get(world.url, world.key_a, f"/v1/jobs/{missing_id}")
    assert denied.status_code == missing.status_code == 404
    assert denied.json() == json.loads(missing.text.replace(missing_id, job_id))
    assert "secret-plan-b" not in denied.text
    allowed = _get(world.url, world.key_b, f"/v1/jobs/{job_id}")
    assert allowed.status_code == 200
    assert allowed.json()["collection"] == "c1"


PUBLIC_PATHS = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/",
    "/static/app.js",
    "/docs",
    "/docs-assets/swagger-ui.css",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
)


def test_public_doors_show_no_row(world: World) -> None:
    """What answers without a key holds nothing of any collection: no phrase, no document
    id, no collection name (metrics have no per-collection labels)."""
    secrets = [*DOCUMENTS, *(phrase for _, _, phrase in DOCUMENTS.values()), "c1", "c2"]
    for path in PUBLIC_PATHS:
        response = httpx.get(f"{world.url}{path}", timeout=30)
        assert response.status_code == 200, path
        for secret in secrets:
            assert f'"{secret}"' not in response.text, (path, secret)
            assert f'collection="{secret}"' not in response.text, (path, secret)
            if len(secret) > 3:
                assert secret not in response.text, (path, secret)


def test_admin_doors_refuse_other_keys(world: World) -> None:
    """Collections, keys and the audit log are admin work: a read key gets 403 where the
    collection is in its scope, 404 where it is not, and nothing changes."""
    for key in (world.key_a, world.key_b):
        calls = [
            ("POST", "/v1/collections", {"name": "made-by-reader"}, 403),
            ("DELETE", "/v1/collections/c1", None, 403),
            ("DELETE", "/v1/collections/c2", None, 404),
            ("POST", "/v1/keys", {"name": "made-by-reader", "role": "admin"}, 403),
            ("GET", "/v1/keys", None, 403),
            ("DELETE", "/v1/keys/root", None, 403),
            ("GET", "/v1/audit", None, 403),
        ]
        for method, path, body, status in calls:
            response = httpx.request(
                method, f"{world.url}{path}", json=body, headers=auth(key), timeout=30
            )
            assert response.status_code == status, (method, path, response.text)
            assert "made-by-reader" not in response.text
    names = {c["name"] for c in _get(world.url, BOOT, "/v1/collections").json()["collections"]}
    assert "made-by-reader" not in names and {"c1", "c2"} <= names
    keys = {k["name"] for k in _get(world.url, BOOT, "/v1/keys").json()["keys"]}
    assert "root" in keys and "made-by-reader" not in keys
