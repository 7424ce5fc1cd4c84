"""The kind registry as a new kind uses it: one entry in KINDS (here a reader of fixed pages,
as a web reader yields them: URL keys, names whose extension says the format). Items whose
key does not name their format are parsed by their name and stored under their key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from app.access import UNRESTRICTED
from app.errors import Conflict
from ingest.sources.base import Fetched, Item, ReaderContext, Unchanged
from ingest.sources.kinds import KINDS, Kind
from ingest.sources.service import SourceSpec, add_source
from tests.sources.conftest import synced

pytestmark = pytest.mark.anyio

PAGES = {
    "https://docs.example/guide/": (
        "guide/index.html",
        b"<html><head><title>Guide</title></head><body><h1>Install</h1>"
        b"<p>Install it with pip, then run the server.</p></body></html>",
    ),
    "https://docs.example/empty": ("empty.html", b"<html><body></body></html>"),
}


class PagesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "https://docs.example/"


class PagesReader:
    def __init__(self, options: PagesOptions, context: ReaderContext) -> None:
        del options, context

    def scan(self, known: Mapping[str, str], cursor: Mapping[str, Any]) -> Iterator[Item]:
        del cursor
        for key, (name, body) in PAGES.items():
            if known.get(key) == "v1":
                yield Unchanged(key)
            else:
                yield Fetched(key, "v1", body, name, "text/html")

    def cursor(self) -> dict[str, Any]:
        return {"pages": len(PAGES)}


async def test_a_kind_is_one_entry(ingestion, embedder, collection, session, monkeypatch):
    monkeypatch.setitem(KINDS, "pages", Kind("fixed pages", PagesOptions, PagesReader))
    options = {"url": "https://reader:s3cret@docs.example/"}
    spec = SourceSpec("pages", collection.name, "pages", options)
    shown = await add_source(ingestion, UNRESTRICTED, spec)
    assert shown.options == {"url": "https://reader:***@docs.example/"}  # stored as given
    with pytest.raises(Conflict, match="source 'pages' already exists"):
        await add_source(ingestion, UNRESTRICTED, spec)
    job = await synced(ingestion, embedder, "pages")
    assert job.result["added"] == 1
    assert job.errors == [{"path": "pages/https://docs.example/empty", "error": "no text in file"}]
    rows = await session.execute(
        text("SELECT external_id, source, title FROM documents WHERE collection_id = :c"),
        {"c": collection.id},
    )
    url = "pages/https://docs.example/guide/"
    assert [tuple(row) for row in rows] == [(url, url, "Guide")]
    again = await synced(ingestion, embedder, "pages")
    assert (again.result["unchanged"], again.result["embedded"]) == (1, 0)  # the guide
