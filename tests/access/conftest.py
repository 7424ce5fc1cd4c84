"""A database of its own for the access tests (keys turn authentication on for every server
on a database), with two groups' documents planted in it and three keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from app.config import Settings, load_settings
from app.main import create_app
from tests.conftest import Databases
from tests.servers import ServerThread

BOOT = "boot-admin-secret-0123456789"
PHRASE_A = "the aquamarine heron ledger"
PHRASE_B = "the vermilion walrus treaty"
PHRASE_PUBLIC = "the ordinary cafeteria menu"
PHRASE_OTHER = "the cobalt lighthouse inventory"
# external id -> (collection, access groups, planted phrase)
DOCUMENTS = {
    "alpha-doc": ("c1", ["A"], PHRASE_A),
    "bravo-doc": ("c1", ["B"], PHRASE_B),
    "shared-doc": ("c1", ["A", "B"], "the shared almanac of both teams"),
    "public-doc": ("c1", [], PHRASE_PUBLIC),
    "other-doc": ("c2", [], PHRASE_OTHER),
}


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def access_db_url(databases: Databases) -> str:
    return databases.create(prefix="pgask_access")


@pytest.fixture(scope="session")
def access_dsn(access_db_url: str) -> str:
    return access_db_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def access_settings(access_db_url: str) -> Settings:
    return load_settings(
        database_url=access_db_url,
        pgask_ingest_worker=False,
        pgask_api_keys=f"boot:{BOOT}",
        _env_file=None,
    )


@pytest.fixture(scope="session")
def access_server(access_settings: Settings) -> Iterator[str]:
    with ServerThread(create_app(access_settings)) as running:
        yield running.url


@dataclass(frozen=True)
class World:
    url: str
    key_a: str
    key_b: str
    admin: str


def make_key(url: str, name: str, **fields: object) -> str:
    created = httpx.post(
        f"{url}/v1/keys", json={"name": name, **fields}, headers=auth(BOOT), timeout=30
    )
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def group_keys(url: str, collection: str, *, create: bool = True) -> tuple[str, str]:
    """Read keys of group A and of group B scoped to `collection` (created first unless
    told it exists), for tests that change documents without disturbing the leak matrix."""
    if create:
        made = httpx.post(
            f"{url}/v1/collections", json={"name": collection}, headers=auth(BOOT), timeout=60
        )
        assert made.status_code == 201, made.text
    return (
        make_key(url, f"{collection}-a", role="read", collections=[collection], groups=["A"]),
        make_key(url, f"{collection}-b", role="read", collections=[collection], groups=["B"]),
    )


@pytest.fixture(scope="session")
def world(access_server: str) -> World:
    """Collections c1 and c2, the planted documents, and keys for group A, group B (both read,
    c1 only) and an admin."""
    url = access_server
    for name in ("c1", "c2"):
        response = httpx.post(
            f"{url}/v1/collections", json={"name": name}, headers=auth(BOOT), timeout=60
        )
        assert response.status_code == 201, response.text
    for external_id, (collection, access, phrase) in DOCUMENTS.items():
        text = f"{phrase}. This note about {phrase} is filed under {external_id}."
        body = {"documents": [{"id": external_id, "text": text, "access": access}]}
        response = httpx.post(
            f"{url}/v1/collections/{collection}/documents",
            json=body,
            headers=auth(BOOT),
            timeout=120,
        )
        assert response.status_code == 200, response.text
    return World(
        url,
        make_key(url, "team-a", role="read", collections=["c1"], groups=["A"]),
        make_key(url, "team-b", role="read", collections=["c1"], groups=["B"]),
        make_key(url, "root", role="admin"),
    )


def visible(groups: list[str], collections: list[str] | None) -> set[str]:
    """The Python model of the rules: which documents a key sees."""
    return {
        doc
        for doc, (collection, access, _) in DOCUMENTS.items()
        if (collections is None or collection in collections)
        and (not access or set(access) & set(groups))
    }
