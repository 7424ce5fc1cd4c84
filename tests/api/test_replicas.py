"""Read replicas over real HTTP with real streaming replication: two hot standbys of the
test database (tests/replication.py), reads round robin between them, writes and jobs on the
primary, lag and a stopped standby costing no 5xx, and read-your-writes by LSN."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import load_settings
from tests.replication import Standby
from tests.servers import ServerThread

LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")
MAX_LAG = 1.0
TEXT = "Hot standbys replay the write-ahead log that the primary streams to them."


@pytest.fixture(scope="module")
def standbys(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Standby]]:
    parent: Path = tmp_path_factory.mktemp("standbys")
    made = [Standby(pg_dsn, parent, name) for name in ("one", "two")]
    yield made
    for standby in made:
        standby.stop()


@pytest.fixture(scope="module")
def http(db_url: str, standbys: list[Standby]) -> Iterator[httpx.Client]:
    from app.main import create_app

    settings = load_settings(
        database_url=db_url,
        database_read_urls=",".join(s.url for s in standbys),
        pgask_replica_max_lag_seconds=MAX_LAG,
        pgask_read_wait_ms=300,
        pgask_ingest_worker=False,
        _env_file=None,
    )
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def collection(http: httpx.Client, standbys: list[Standby]) -> str:
    name = f"rep-{uuid.uuid4().hex[:10]}"
    assert http.post("/v1/collections", json={"name": name}).status_code == 201
    lsn = _add(http, name, "standby.md", TEXT)
    for standby in standbys:
        standby.wait_replayed(lsn)
    return name


def _add(http: httpx.Client, collection: str, doc_id: str, text: str) -> str:
    """Adds a document; returns the write's X-Pgask-LSN."""
    response = http.post(
        f"/v1/collections/{collection}/documents",
        json={"documents": [{"id": doc_id, "text": text}]},
    )
    assert response.status_code == 200, response.text
    lsn = response.headers["x-pgask-lsn"]
    assert LSN.match(lsn)
    return lsn


def _search(
    http: httpx.Client, collection: str, query: str, min_lsn: str | None = None
) -> list[str]:
    body = {"collection": collection, "query": query, "mode": "text", "k": 5}
    headers = {"X-Pgask-Min-LSN": min_lsn} if min_lsn else {}
    response = http.post("/v1/search", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [hit["external_id"] for hit in response.json()["hits"]]


def _reads(http: httpx.Client) -> dict[str, float]:
    text = http.get("/metrics").text
    return {
        target: float(value)
        for target, value in re.findall(
            r'^pgask_db_reads_total\{target="(\w+)"\} (\S+)$', text, re.M
        )
    }


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}


def _replicas(http: httpx.Client) -> dict[str, dict]:
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    return {replica["name"]: replica for replica in ready.json()["replicas"]}


def test_reads_go_round_robin_to_the_replicas_and_writes_to_the_primary(
    http: httpx.Client, collection: str
) -> None:
    before = _reads(http)
    for _ in range(4):
        assert _search(http, collection, "write-ahead log standbys") == ["standby.md"]
    assert http.get(f"/v1/collections/{collection}").status_code == 200
    assert http.get(f"/v1/collections/{collection}/documents/standby.md").status_code == 200
    ask = {"collection": collection, "question": "What do hot standbys replay?", "mode": "text"}
    assert "write-ahead log" in http.post("/v1/ask", json=ask).json()["sources"][0]["text"]
    similar = http.get(f"/v1/collections/{collection}/documents/standby.md/similar")
    assert similar.status_code == 200
    assert _delta(before, _reads(http)) == {"replica1": 4, "replica2": 4}
    replicas = _replicas(http)
    assert set(replicas) == {"replica1", "replica2"}
    for replica in replicas.values():
        assert replica["reachable"] and replica["in_recovery"] and replica["serving_reads"]
        assert replica["lag_seconds"] <= MAX_LAG
        assert "@127.0.0.1" in replica["url"]


def test_a_read_with_min_lsn_waits_for_replay_or_reads_the_primary(
    http: httpx.Client, collection: str, standbys: list[Standby]
) -> None:
    for standby in standbys:
        standby.execute("SELECT pg_wal_replay_pause()")
    try:
        lsn = _add(http, collection, "fresh.md", "Freshly written rows about logical decoding.")
        before = _reads(http)
        assert _search(http, collection, "logical decoding", min_lsn=lsn) == ["fresh.md"]
        assert _delta(before, _reads(http)) == {"primary": 1}  # no replica had replayed it
    finally:
        for standby in standbys:
            standby.execute("SELECT pg_wal_replay_resume()")
    for standby in standbys:
        standby.wait_replayed(lsn)
    before = _reads(http)
    assert _search(http, collection, "logical decoding", min_lsn=lsn) == ["fresh.md"]
    served = _delta(before, _reads(http))
    assert list(served) in (["replica1"], ["replica2"])  # once replayed, a replica serves it


def test_a_lagging_replica_is_skipped(
    http: httpx.Client, collection: str, standbys: list[Standby]
) -> None:
    lagging = standbys[0]
    lagging.execute("SELECT pg_wal_replay_pause()")
    try:
        lsn = _add(http, collection, "lag.md", "Tardy copies trail behind.")
        standbys[1].wait_replayed(lsn)
        while (replica := _replicas(http)["replica1"])["serving_reads"]:
            time.sleep(0.1)  # until its lag passes MAX_LAG (it grows with the clock)
        assert replica["reachable"] and replica["lag_seconds"] > MAX_LAG
        before = _reads(http)
        for _ in range(4):
            assert _search(http, collection, "tardy") == ["lag.md"]
        assert _delta(before, _reads(http)) == {"replica2": 4}
    finally:
        lagging.execute("SELECT pg_wal_replay_resume()")


def test_not_an_lsn_is_a_422(http: httpx.Client, collection: str) -> None:
    body = {"collection": collection, "query": "standby", "mode": "text"}
    response = http.post("/v1/search", json=body, headers={"X-Pgask-Min-LSN": "yesterday"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "X-Pgask-Min-LSN" in response.json()["detail"]


def test_a_replica_stopped_mid_load_costs_no_5xx(
    http: httpx.Client, collection: str, standbys: list[Standby]
) -> None:
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        body = {"collection": collection, "query": "write-ahead log", "mode": "text"}
        with httpx.Client(base_url=str(http.base_url), timeout=60) as client:
            while not stop.is_set():
                statuses.append(client.post("/v1/search", json=body).status_code)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        while len(statuses) < 30:
            stop.wait(0.05)
        standbys[1].stop()
        stopped_at = len(statuses)
        while len(statuses) < stopped_at + 60:
            stop.wait(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    try:
        assert set(statuses) == {200}, sorted(set(statuses))
        replica = _replicas(http)["replica2"]
        assert not replica["reachable"] and not replica["serving_reads"] and replica["error"]
        before = _reads(http)
        _search(http, collection, "write-ahead log")
        _search(http, collection, "write-ahead log")
        assert set(_delta(before, _reads(http))) <= {"primary", "replica1"}
    finally:
        standbys[1].start()


def test_a_primary_named_as_replica_is_refused(
    db_url: str, pg_dsn: str, collection: str, caplog: pytest.LogCaptureFixture
) -> None:
    from app.main import create_app

    settings = load_settings(
        database_url=db_url, database_read_urls=pg_dsn, pgask_ingest_worker=False, _env_file=None
    )
    with (
        caplog.at_level(logging.WARNING),
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        assert _search(client, collection, "write-ahead log") == ["standby.md"]
        assert _reads(client) == {"primary": 1}
        replica = _replicas(client)["replica1"]
    assert replica["reachable"] and replica["in_recovery"] is False
    assert not replica["serving_reads"]
    assert "is not in recovery, so it is not a replica" in caplog.text


def test_successful_writes_carry_the_lsn_and_failed_ones_do_not(
    http: httpx.Client, collection: str
) -> None:
    _add(http, collection, "gone.md", "Soon deleted.")
    deleted = http.delete(f"/v1/collections/{collection}/documents/gone.md")
    assert deleted.status_code == 204
    assert LSN.match(deleted.headers["x-pgask-lsn"])
    refused = http.post("/v1/collections", json={"name": "no spaces allowed"})
    assert refused.status_code == 422
    assert "x-pgask-lsn" not in refused.headers
    search = http.post("/v1/search", json={"collection": collection, "query": "x", "mode": "text"})
    assert search.status_code == 200
    assert "x-pgask-lsn" not in search.headers  # a read, though a POST


def test_without_replicas_writes_carry_no_lsn(client: httpx.Client) -> None:
    """No replica to catch up with: no X-Pgask-LSN, and no pg_current_wal_lsn() query."""
    name = f"nolsn-{uuid.uuid4().hex[:10]}"
    created = client.post("/v1/collections", json={"name": name})
    assert created.status_code == 201
    added = client.post(
        f"/v1/collections/{name}/documents", json={"documents": [{"id": "a", "text": TEXT}]}
    )
    assert added.status_code == 200, added.text
    assert "x-pgask-lsn" not in created.headers and "x-pgask-lsn" not in added.headers
