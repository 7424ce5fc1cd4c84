"""The `access` form field of an upload applies to the files' documents, through a job run
by an in-server worker."""

from __future__ import annotations

import time

import httpx

from app.config import Settings
from app.main import create_app
from tests.access.conftest import BOOT, World, auth, group_keys
from tests.servers import ServerThread


def _upload(url: str, name: str, content: bytes, access: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/collections/uploads/files",
        files={"files": (name, content)},
        data={"access": access},
        headers=auth(BOOT),
        timeout=30,
    )


def test_uploaded_files_carry_the_access_field(world: World, access_settings: Settings) -> None:
    key_a, key_b = group_keys(world.url, "uploads")
    with_worker = access_settings.model_copy(update={"pgask_ingest_worker": True})
    with ServerThread(create_app(with_worker)) as server:
        job = _upload(server.url, "plan.txt", b"the tangerine osprey budget plan", " B , ops ")
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 120
        while (
            status := httpx.get(f"{server.url}{job.json()['location']}", headers=auth(BOOT)).json()
        )["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["status"] == "succeeded", status
        doc = f"{server.url}/v1/collections/uploads/documents/plan.txt"
        assert httpx.get(doc, headers=auth(key_b)).json()["access"] == ["B", "ops"]
        assert httpx.get(doc, headers=auth(key_a)).status_code == 404
        bad = _upload(server.url, "x.txt", b"x", "bad\x1fgroup")
        assert bad.status_code == 422
        assert "access" in bad.json()["detail"]
