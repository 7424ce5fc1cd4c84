"""Revocation and expiry reach every running server within 5 seconds, without a restart;
a key's secret never reaches the servers' logs."""

from __future__ import annotations

import time

import httpx

from tests.access.conftest import BOOT, auth, make_key
from tests.cli import env_without_pgask_settings
from tests.test_cli import _servers

DEADLINE_SECONDS = 5.0


def _refused_within(url: str, key: str, seconds: float) -> float:
    """Seconds until `key` gets 401 on `url` (polling), or fail after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if httpx.get(f"{url}/v1/collections", headers=auth(key), timeout=10).status_code == 401:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"key still accepted on {url} after {seconds} s")


def test_revoke_and_expiry_reach_another_server_within_5_s(access_db_url: str) -> None:
    env = env_without_pgask_settings(
        DATABASE_URL=access_db_url,
        PGASK_API_KEYS=f"boot:{BOOT}",
        PGASK_INGEST_WORKER="false",
        PGASK_LOG_FORMAT="text",
    )
    with _servers(env, 2) as running:
        (first, first_proc), (second, second_proc) = running
        revoked = make_key(first, "to-revoke", role="read")
        expiring = make_key(first, "to-expire", role="read", expires_in_days=4 / 86400)
        for key in (revoked, expiring):
            assert httpx.get(f"{second}/v1/collections", headers=auth(key)).status_code == 200
        gone = httpx.delete(f"{first}/v1/keys/to-revoke", headers=auth(BOOT), timeout=30)
        assert gone.status_code == 204
        _refused_within(second, revoked, DEADLINE_SECONDS)
        # 4 s of life from its creation, then at most 5 s more
        _refused_within(second, expiring, 4 + DEADLINE_SECONDS)
        listed = httpx.get(f"{second}/v1/keys", headers=auth(BOOT)).json()["keys"]
        assert {k["name"]: bool(k["revoked_at"]) for k in listed}["to-revoke"] is True
    logs = "".join(proc.stderr.read() for proc in (first_proc, second_proc) if proc.stderr)
    assert "/v1/keys" in logs  # the access log was captured ...
    for secret in (revoked, expiring, BOOT):
        assert secret not in logs  # ... and holds no secret
