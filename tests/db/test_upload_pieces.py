"""Migration 0008 stores uploads in pieces: a stored upload becomes its part 0, and
downgrading joins a file's pieces back into one value."""

from __future__ import annotations

import psycopg
from alembic import command

from app.db import migrate
from tests.db.conftest import Scratch
from tests.sql import scalar

_FILES = "SELECT name, part, content FROM ingest_job_files ORDER BY name, part"


def test_migration_moves_uploads_to_pieces_and_back(scratch_db: str) -> None:
    scratch = Scratch.of(scratch_db)
    migrate.upgrade(scratch.url, "0007_vectors_inline")
    with psycopg.connect(scratch.dsn) as conn:
        job = scalar(
            conn,
            "WITH c AS (INSERT INTO collections (name, embedding_provider, embedding_model,"
            " embedding_dimensions, chunk_size, chunk_overlap, vector_type)"
            " VALUES ('a', 'local', 'm', 3, 100, 10, 'vector') RETURNING id)"
            " INSERT INTO ingest_jobs (collection_id) SELECT id FROM c RETURNING id",
        )
        conn.execute(
            "INSERT INTO ingest_job_files (job_id, name, content) VALUES (%s, 'a.md', 'alpha'),"
            " (%s, 'b.md', 'beta')",
            (job, job),
        )
        conn.commit()
    migrate.upgrade(scratch.url)
    with psycopg.connect(scratch.dsn) as conn:
        assert conn.execute(_FILES).fetchall() == [("a.md", 0, b"alpha"), ("b.md", 0, b"beta")]
        conn.execute(
            "INSERT INTO ingest_job_files (job_id, name, part, content)"
            " VALUES (%s, 'a.md', 2, '!'), (%s, 'a.md', 1, ' and omega')",
            (job, job),
        )
        conn.commit()
    command.downgrade(migrate.alembic_config(scratch.url), "0007_vectors_inline")
    with psycopg.connect(scratch.dsn) as conn:
        rows = conn.execute("SELECT name, content FROM ingest_job_files ORDER BY name").fetchall()
        assert rows == [("a.md", b"alpha and omega!"), ("b.md", b"beta")]
