"""Which documents of a run go on to be chunked and embedded: those that pass the checks,
appear once in the run, and that the writing key may write; with what is stored of them
(content hash and access groups), which decides unchanged, access-only or replaced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from app.access import Principal
from app.errors import Conflict, InvalidInput
from ingest.loaders import LoadedDocument
from ingest.prepare import Failure, Prepared, check_document
from ingest.report import Report

Stored = dict[str, tuple[str, list[str]]]  # external id -> (content hash, access groups)


async def stored_hashes(
    conn: psycopg.AsyncConnection[Any], collection_id: int, ids: list[str]
) -> Stored:
    """(content hash, access) of the stored documents among `ids`."""
    if not ids:
        return {}
    cursor = await conn.execute(
        "SELECT external_id, content_hash, access FROM documents"
        " WHERE collection_id = %s AND external_id = ANY(%s)",
        (collection_id, ids),
    )
    return {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}


def document_of(item: LoadedDocument | Prepared) -> LoadedDocument:
    return item.doc if isinstance(item, Prepared) else item


class Admission:
    """The checks of one run. `strict`: raise on the first refusal (the HTTP API) instead
    of reporting it per document in `report` and going on. `writer`: the key the documents
    come from (None: the operator's own run)."""

    def __init__(
        self, report: Report, collection_id: int, *, strict: bool, writer: Principal | None
    ) -> None:
        self.report = report
        self.collection_id = collection_id
        self.strict = strict
        self.writer = writer
        self.seen: set[str] = set()  # the ids of this run so far (`--prune` keeps them)

    async def admit(
        self, conn: psycopg.AsyncConnection[Any], items: list[LoadedDocument | Prepared]
    ) -> tuple[list[LoadedDocument | Prepared], Stored]:
        """The items that go on, and what is stored of them."""
        valid = [item for item in items if self._accept(document_of(item))]
        stored = await stored_hashes(
            conn, self.collection_id, [document_of(item).external_id for item in valid]
        )
        return [item for item in valid if self._writable(document_of(item), stored)], stored

    def _accept(self, doc: LoadedDocument) -> bool:
        where = doc.source or doc.external_id
        try:
            check_document(doc)
            if doc.external_id in self.seen:
                raise InvalidInput(f"document id {doc.external_id!r} appears twice in this run")
        except InvalidInput as exc:
            if self.strict:
                raise InvalidInput(f"{where}: {exc.detail}") from exc
            self.report.fail(Failure(where, exc.detail))
            return False
        self.seen.add(doc.external_id)
        return True

    def _writable(self, doc: LoadedDocument, stored: Stored) -> bool:
        """The documents policy's rule for a scoped key (migrations 0004, 0009): it writes
        only documents it could read, new (`doc.access`) and replaced (the stored one's). A
        stored document it cannot read is refused like a malformed one, never replaced: the
        refusal tells the key only that the id is taken (docs/security.md). The pipeline
        writes as the tables' owner, so it applies that rule itself."""
        held = stored.get(doc.external_id)
        if held is not None and not self._readable(held[1]):
            detail = f"document id {doc.external_id!r} is taken by a document this key cannot read"
        elif not self._readable(doc.access):
            detail = f"this key may not give a document the groups {sorted(doc.access)}"
        else:
            return True
        if self.strict:
            raise Conflict(detail)
        self.report.fail(Failure(doc.source or doc.external_id, detail))
        return False

    def _readable(self, access: Sequence[str]) -> bool:
        """Whether the writer may read a document with these groups (as the policy says)."""
        writer = self.writer
        return (
            writer is None
            or not writer.scoped
            or not access
            or bool(set(access) & set(writer.groups))
        )
