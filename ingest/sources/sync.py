"""One sync of a source, inside the ingest job that runs it (`ingest.worker`): the reader's
scan feeds the job's parse workers and pipeline, then `finish` deletes what left the
source and records what was stored (docs/decisions/0028-sources-and-syncs-as-jobs.md).

- An item's documents are named `<source name>/<key>` (id and `source`; a JSON Lines file's
  documents keep their own ids). Items whose version is the one recorded are not read;
  those read are parsed and written by the pipeline, which embeds only documents whose
  content hash changed. The job's `access` (the source's groups) goes onto every document.
- Non-prose items (images, archives, binaries) are skipped, and their version recorded so
  they are not read again until they change.
- `finish` runs only after a complete scan: a scan that raised SourceUnavailable ends the
  job failed before it, so nothing is deleted and no version is recorded. A failed item
  keeps its documents and its old version (it is read again next time).
- A sync killed part-way is run again from the start by the job's next claim: what it had
  written is found unchanged by its content hash, so little is embedded twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from psycopg.types.json import Jsonb

from app.errors import ConfigError, NotFound
from ingest.context import Ingestion
from ingest.filetypes import looks_binary, skip_reason
from ingest.items import Item as PipelineItem
from ingest.loaders import LoadedDocument, file_format
from ingest.parse_worker import FileInput
from ingest.pipeline import Pipeline
from ingest.prepare import Failure, Prepared
from ingest.service import prune_documents
from ingest.sources.base import Failed, Fetched, Item, ReaderContext, SourceReader, Unchanged
from ingest.sources.kinds import open_reader

_SNIFF_BYTES = 8192

_SOURCE_OF_JOB = """
SELECT s.id, s.name, s.collection_id, s.kind, s.options, s.cursor
FROM ingest_jobs j LEFT JOIN sources s ON s.id = (j.params ->> 'source')::int
WHERE j.id = %s AND j.params ? 'source'
"""


@dataclass(frozen=True)
class SourceRow:
    id: int
    name: str
    collection_id: int
    kind: str
    options: dict[str, Any]
    cursor: dict[str, Any]

    def document(self, key: str) -> str:
        """The id (and `source`) of the document an item becomes."""
        return f"{self.name}/{key}"


def work_dir(ingestion: Ingestion, source_id: int) -> Path:
    """Where a source keeps its working copy (a git source's bare repository)."""
    if ingestion.data_dir is None:
        raise ConfigError("sources need a data directory (PGASK_DATA_DIR)")
    return ingestion.data_dir / "sources" / str(source_id)


async def open_sync(
    ingestion: Ingestion, job_id: uuid.UUID, pipeline: Pipeline
) -> SourceSync | None:
    """The sync job `job_id` runs, or None when it is an upload's job."""
    async with ingestion.db.owner_connection(autocommit=True) as conn:
        found = await (await conn.execute(_SOURCE_OF_JOB, (job_id,))).fetchone()
        if found is None:
            return None
        if found[0] is None:
            raise NotFound("its source was removed")
        source = SourceRow(*found)
        cursor = await conn.execute(
            "SELECT key, version, skipped FROM source_items WHERE source_id = %s", (source.id,)
        )
        items = await cursor.fetchall()
    known = {key: version for key, version, _ in items}
    skipped = {key for key, _, skipped in items if skipped}
    context = ReaderContext(
        work_dir(ingestion, source.id), ingestion.settings.pgask_ingest_max_file_mb * 2**20
    )
    reader = open_reader(source.kind, source.options, context)
    return SourceSync(ingestion, job_id, source, reader, known, pipeline, skipped)


@dataclass
class _Seen:
    """What the scan found, by key."""

    listed: set[str] = field(default_factory=set)
    fetched: dict[str, str] = field(default_factory=dict)  # key -> version
    skipped: dict[str, str] = field(default_factory=dict)  # non-prose: key -> version
    complete: bool = False


class SourceSync:
    def __init__(
        self,
        ingestion: Ingestion,
        job_id: uuid.UUID,
        source: SourceRow,
        reader: SourceReader,
        known: dict[str, str],
        pipeline: Pipeline,
        skipped: set[str],
    ) -> None:
        self.ingestion, self.job_id, self.source = ingestion, job_id, source
        self.reader, self.known, self.pipeline = reader, known, pipeline
        self.seen = _Seen()
        self.seen.skipped = {k: known[k] for k in skipped}  # still skipped while unchanged
        self._renamed: dict[str, str] = {}  # parse name -> document name, where they differ

    async def files(self, folder: Path) -> AsyncIterator[tuple[str, FileInput]]:
        """The files to parse: each item read, written to a file in `folder` (its parse
        worker reads it there; one item is in memory at a time)."""
        items = self.reader.scan(self.known, self.source.cursor)
        while (item := await asyncio.to_thread(_next, items)) is not None:
            self.seen.listed.add(item.key)
            if isinstance(item, Unchanged):
                self.pipeline.report.unchanged += item.key not in self.seen.skipped
                continue
            self.seen.skipped.pop(item.key, None)  # changed: skipped again or not, below
            if isinstance(item, Failed):
                self.pipeline.report.fail(Failure(self.source.document(item.key), item.reason))
            elif (name := self._parse_name(item)) is not None:
                path = folder / str(len(self.seen.fetched))
                await asyncio.to_thread(path.write_bytes, item.data)
                self.seen.fetched[item.key] = item.version
                yield name, path
        self.seen.complete = True
        await self._set_total(len(self.seen.listed))

    def _parse_name(self, item: Fetched) -> str | None:
        """The name the item is parsed under, or None for a non-prose item, skipped. It is
        its document's name, unless that does not end in the format the reader's name does
        (a URL key): then the document's name, '#' and the reader's file name
        (`site/https://x/guide/#index.html`), renamed back once parsed."""
        document = self.source.document(item.key)
        name = document
        if file_format(document) != file_format(item.name):
            name = f"{document}#{PurePosixPath(item.name).name}"
            self._renamed[name] = document
        head = item.data[:_SNIFF_BYTES]
        if skip_reason(name, head) or (file_format(name) is None and looks_binary(head)):
            self.seen.skipped[item.key] = item.version
            return None
        return name

    async def documents(self, parsed: AsyncIterable[PipelineItem]) -> AsyncIterator[PipelineItem]:
        """The parsed documents, named after their item (see `_parse_name`)."""
        async for item in parsed:
            if isinstance(item, Prepared) and item.doc.source in self._renamed:
                yield replace(item, doc=self._rename(item.doc))
            elif isinstance(item, Failure) and (found := self._renamed_path(item.path)):
                yield Failure(found, item.error)
            else:
                yield item

    def _rename(self, doc: LoadedDocument) -> LoadedDocument:
        document = self._renamed[doc.source]
        external_id = document if doc.external_id == doc.source else doc.external_id
        return replace(doc, external_id=external_id, source=document)

    def _renamed_path(self, path: str) -> str | None:
        for name, document in self._renamed.items():
            if path == name or path.startswith(name + ": "):
                return document + path[len(name) :]
        return None

    async def finish(self) -> None:
        """Delete the documents of items gone or now skipped (a page replaced by an image),
        and those a re-read file no longer holds; record the versions stored and the
        cursor. Only after a complete scan."""
        if not self.seen.complete:
            raise RuntimeError("finish() before the scan ended")
        report, source = self.pipeline.report, self.source
        stored = {k: v for k, v in self.seen.fetched.items() if not self._failed(k)}
        gone = sorted(set(self.known) - self.seen.listed)
        kept = {source.document(k) for k in self.seen.fetched.keys() - stored.keys()}
        skipped = {k: v for k, v in self.seen.skipped.items() if k in self.seen.listed}
        scopes = [source.document(k) for k in (*gone, *stored, *skipped)]
        async with self.ingestion.db.owner_connection(autocommit=True) as conn:
            report.deleted = await prune_documents(
                conn,
                source.collection_id,
                scopes,
                seen=self.pipeline.admission.seen,
                keep_sources=kept,
            )
            summary = {
                "listed": len(self.seen.listed),
                "read": len(self.seen.fetched),
                "skipped": len(skipped),
                "failed": report.failed,
                "deleted": report.deleted,
                "embedded": report.embedded,
            }
            async with conn.transaction():
                await conn.execute(
                    "DELETE FROM source_items WHERE source_id = %s AND key = ANY(%s)",
                    (source.id, gone),
                )
                for versions, flag in ((stored, False), (skipped, True)):
                    await conn.execute(
                        _RECORD, (source.id, flag, list(versions), list(versions.values()))
                    )
                await conn.execute(
                    "UPDATE sources SET cursor = %s, synced_at = now(), last_sync = %s"
                    " WHERE id = %s",
                    (Jsonb(self.reader.cursor()), Jsonb(summary), source.id),
                )

    def _failed(self, key: str) -> bool:
        name = self.source.document(key)
        return any(
            e.path == name or e.path.startswith(name + ": ") for e in self.pipeline.report.errors
        )

    async def _set_total(self, total: int) -> None:
        async with self.ingestion.db.owner_connection(autocommit=True) as conn:
            await conn.execute(
                "UPDATE ingest_jobs SET total = %s WHERE id = %s", (total, self.job_id)
            )


_RECORD = """
INSERT INTO source_items (source_id, key, version, skipped)
SELECT %s, key, version, %s FROM unnest(%s::text[], %s::text[]) AS v(key, version)
ON CONFLICT (source_id, key) DO UPDATE SET version = excluded.version, skipped = excluded.skipped
"""


def _next(items: Iterator[Item]) -> Item | None:
    return next(items, None)
