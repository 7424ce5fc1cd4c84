"""Ingesting folders into the real database with the real local model: formats, bad files,
idempotence, incremental updates, prune, concurrency and the bulk-load index path."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.db.models import Collection
from app.db.schema import hnsw_index_name
from ingest.repeated import EDGE_KEEP
from ingest.report import Progress, Report
from ingest.service import ingest_paths
from tests.ingest.conftest import write
from tests.ingest.pdfs import make_pdf

pytestmark = pytest.mark.anyio

GOOD: dict[str, str | bytes] = {
    "guide.md": "# Guide\n\nIntro text.\n\n## Install\n\nRun pip install pgask.\n",
    "sub/page.html": "<title>Page</title><h1>Head</h1><p>Body text here.</p>",
    "sub/notes.txt": "Plain notes about PostgreSQL.",
    "book.pdf": make_pdf(["First page words", "Second page words"]),
    "corpus.jsonl": '{"_id": "p1", "text": "passage one", "metadata": {"lang": "en"}}\n'
    '{"_id": "p2", "title": "Two", "text": "passage two"}\n',
}
BAD: dict[str, str | bytes] = {
    "empty.md": "",
    "nul.txt": b"a\x00b",
    "latin1.txt": "caf\xe9".encode("latin-1"),
    "scan.pdf": make_pdf([None]),
    ".hidden.md": "# hidden",
    ".git/config": "[core]",
    "image.bin": bytes(range(256)) * 4,
}


async def _run(ingestion, embedder, collection: Collection, *roots: Path, **kw) -> Report:
    report, _ = await ingest_paths(ingestion, embedder, collection, list(roots), **kw)
    return report


async def _chunks(conn, collection: Collection) -> list[tuple]:
    cursor = await conn.execute(
        "SELECT d.external_id, c.ordinal, c.section, c.page, c.metadata, d.source"
        " FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE c.collection_id = %s ORDER BY 1, 2",
        (collection.id,),
    )
    return await cursor.fetchall()


async def test_folder_ingest_reports_bad_files_and_keeps_structure(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    root = write(tmp_path / "kb", {**GOOD, **BAD})
    report, skipped = await ingest_paths(
        ingestion, embedder, collection, [root, tmp_path / "missing"]
    )
    assert (report.added, report.updated, report.unchanged) == (6, 0, 0)
    assert sorted((e.path, e.error.split(" (")[0]) for e in report.errors) == [
        (str(tmp_path / "missing"), "no such file or folder"),
        ("kb/empty.md", "file is empty"),
        ("kb/latin1.txt", "not valid UTF-8 text"),
        ("kb/nul.txt", "contains NUL bytes"),
        ("kb/scan.pdf", "PDF has no text layer"),
    ]
    assert sorted((s.path, s.error) for s in skipped) == [
        ("kb/.git/", "hidden folder"),
        ("kb/.hidden.md", "hidden file"),
        ("kb/image.bin", "binary file"),
    ]
    rows = await _chunks(conn, collection)
    assert report.chunks == len(rows) == report.embedded
    by_id = {(r[0], r[1]): r for r in rows}
    assert by_id[("kb/guide.md", 1)][2] == "Guide > Install"
    assert [by_id[("kb/book.pdf", i)][3] for i in (0, 1)] == [1, 2]
    assert by_id[("p1", 0)][4] == {"lang": "en"} and by_id[("p1", 0)][5] == "kb/corpus.jsonl"
    assert by_id[("kb/sub/page.html", 0)][2] == "Head"


async def test_rerun_embeds_nothing_and_edits_reembed_only_that_file(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    root = write(tmp_path / "kb", GOOD)
    first = await _run(ingestion, embedder, collection, root)
    again = await _run(ingestion, embedder, collection, root)
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 6, 0)

    write(root, {"sub/notes.txt": "Plain notes about PostgreSQL and pgvector."})
    lines = (root / "corpus.jsonl").read_text().replace('"en"', '"de"')  # metadata only
    (root / "corpus.jsonl").write_text(lines)
    edited = await _run(ingestion, embedder, collection, root)
    assert (edited.added, edited.updated, edited.unchanged) == (0, 2, 4)
    assert edited.embedded == 2
    rows = await _chunks(conn, collection)
    assert len(rows) == first.chunks
    assert {r[4]["lang"] for r in rows if r[0] == "p1"} == {"de"}


async def test_prune_deletes_only_documents_of_gone_files_under_the_roots(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    kb = write(tmp_path / "kb", GOOD)
    other = write(tmp_path / "other", {"keep.md": "# Keep\n\nkept"})
    await _run(ingestion, embedder, collection, kb, other)
    (kb / "guide.md").unlink()
    (kb / "corpus.jsonl").write_text('{"_id": "p1", "text": "passage one"}\n')
    write(kb, {"sub/notes.txt": b"broken \x00 now"})  # failed files are not pruned
    report = await _run(ingestion, embedder, collection, kb, prune=True)
    assert report.deleted == 2  # kb/guide.md and p2
    ids = {r[0] for r in await _chunks(conn, collection)}
    assert ids == {"kb/sub/page.html", "kb/sub/notes.txt", "kb/book.pdf", "p1", "other/keep.md"}


async def test_concurrent_ingests_of_the_same_files_leave_no_duplicates(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    root = write(tmp_path / "kb", {f"f{i}.md": f"# F{i}\n\n" + "word " * 300 for i in range(8)})
    reports = await asyncio.gather(*(_run(ingestion, embedder, collection, root) for _ in range(3)))
    assert all(r.failed == 0 for r in reports)
    rows = await _chunks(conn, collection)
    # A run that looks the hashes up after another one wrote finds them unchanged; the
    # 8 documents are one batch (one transaction), so a run writes all of them or none.
    assert len(rows) == len({(r[0], r[1]) for r in rows}) == max(r.chunks for r in reports)


async def test_large_first_load_builds_the_index_after_loading(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    lines = [json.dumps({"_id": f"d{i}", "text": f"passage number {i}"}) for i in range(30)]
    root = write(tmp_path / "kb", {"c.jsonl": "\n".join(lines)})
    ingestion = replace(
        ingestion, settings=ingestion.settings.model_copy(update={"bulk_threshold": 20})
    )
    report = await _run(ingestion, embedder, collection, root)
    assert report.added == 30
    cursor = await conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (hnsw_index_name(collection.id),)
    )
    row = await cursor.fetchone()
    assert row is not None and f" ON public.chunks_c{collection.id} USING hnsw " in row[0]


async def test_collection_pinned_to_another_model_is_refused(
    tmp_path, ingestion, embedder, session, collection_name
) -> None:
    from app.catalog import create_collection
    from app.embeddings.base import ModelSpec
    from app.errors import Conflict

    other = await create_collection(
        session, ModelSpec("openai", "text-embedding-3-small", 1536), name=collection_name
    )
    with pytest.raises(Conflict):
        await _run(ingestion, embedder, other, write(tmp_path, {"a.md": "text"}))


async def test_progress_is_reported_per_model_batch_while_a_batch_embeds(
    tmp_path, ingestion, embedder, collection
) -> None:
    """200 one-chunk documents make one pipeline batch; the local model embeds it 64 texts
    at a time, and the pipeline reports each of those parts before the batch is written."""
    lines = [json.dumps({"_id": f"d{i}", "text": f"Passage {i} on {i % 9}."}) for i in range(200)]
    corpus = write(tmp_path, {"corpus.jsonl": "\n".join(lines)}) / "corpus.jsonl"
    seen: list[tuple[int, int]] = []  # (chunks written, chunks embedded) at each call

    def record(progress: Progress) -> None:
        seen.append((progress.report.chunks, progress.embedded_chunks))
        assert progress.embedded_chunks <= progress.prepared_chunks

    report, _ = await ingest_paths(ingestion, embedder, collection, [corpus], on_progress=record)
    assert report.embedded == report.chunks == 200
    step = embedder.batch_size
    while_embedding = [embedded for written, embedded in seen if written == 0 and embedded]
    assert while_embedding == [*range(step, 200, step), 200]
    assert seen[-1] == (200, 200)


async def test_a_block_many_pages_repeat_is_stored_three_times(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    """Eight pages end with the same closing section (as all 195 of git's man pages end
    with "Part of the git(1) suite"): the run stores it for the first three documents that
    hold it; each page keeps its own text, and a page holding nothing else keeps it too (a
    fourth copy when it comes after the first three: the parse workers' order decides)."""
    footer = "## GIT\n\nPart of the example suite.\n"
    pages = {
        f"page{n}.md": f"# Page {n}\n\nTopic {n} is explained here.\n\n{footer}" for n in range(8)
    }
    root = write(tmp_path / "kb", {**pages, "only.md": f"# Only\n\n{footer}"})
    report = await _run(ingestion, embedder, collection, root)
    assert report.added == 9
    cursor = await conn.execute(
        "SELECT d.external_id, c.ordinal, c.text FROM chunks c JOIN documents d"
        " ON d.id = c.document_id WHERE c.collection_id = %s ORDER BY 1, 2",
        (collection.id,),
    )
    rows = await cursor.fetchall()
    by_page: dict[str, list[str]] = {}
    for external_id, ordinal, text in rows:
        by_page.setdefault(external_id, []).append(text)
        assert ordinal == len(by_page[external_id]) - 1  # ordinals stay consecutive
    holding = sorted(
        page for page, texts in by_page.items() if any("example suite" in t for t in texts)
    )
    assert "kb/only.md" in holding and len(holding) in (3, 4)
    assert report.repeated == 9 - len(holding) and report.chunks == 8 + len(holding)
    assert all(any(f"Topic {n}" in t for t in by_page[f"kb/page{n}.md"]) for n in range(8))


async def test_a_site_header_that_opens_every_page_is_cut_from_their_first_chunks(
    tmp_path, ingestion, embedder, collection, conn
) -> None:
    """A hand-made site's header (its name, a tagline, a menu) opens each page's first
    chunk, before the page's own first lines, and its footer (with the page's own date)
    closes the last: after the first ten pages of the run, the pages' chunks hold their
    own text alone, and each page keeps all of it."""
    header = "Acme Docs\n\nSmall. Fast. Reliable.\n\n- Home\n\n- About\n\n- Download\n\n"
    topics = [chr(ord("a") + n) * 3 for n in range(13)]  # words, not numbers
    pages: dict[str, str | bytes] = {
        f"page{n}.txt": f"{header}Topic {topics[n]} is explained here, in its own words.\n\n"
        f"Last modified 2022-06-{n + 10}.\n"
        for n in range(13)
    }
    report = await _run(ingestion, embedder, collection, write(tmp_path / "kb", pages))
    assert report.added == 13 and report.chunks == 13 and report.repeated == 0
    cursor = await conn.execute(
        "SELECT d.external_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE c.collection_id = %s AND c.ordinal = 0 ORDER BY 1",
        (collection.id,),
    )
    first = dict(await cursor.fetchall())
    with_header = [page for page, text in first.items() if text.startswith("Acme Docs")]
    assert len(with_header) == EDGE_KEEP
    for n in range(13):
        text = first[f"kb/page{n}.txt"]
        own = f"Topic {topics[n]} is explained here, in its own words."
        footer = f"\n\nLast modified 2022-06-{n + 10}."
        assert text == (header + own + footer if f"kb/page{n}.txt" in with_header else own)
