"""Uploaded files are stored in pieces: one `ingest_job_files` row per MiB (`part` 0, 1, ...).

A file was one `bytea` value, so the server read each upload whole to insert it, and the
worker fetched it whole again to write it to its job folder: a 16 MB upload grew
`pgask serve` by 59 MB. Pieces are written as they are read from the request and fetched
one at a time (`ingest/uploads.py`, `ingest/job_queue.py`), so neither side holds more than
one piece of a file.

Stored files become their part 0. Downgrading joins each file's pieces back into one value.

Revision ID: 0008_upload_pieces
Revises: 0007_vectors_inline
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_upload_pieces"
down_revision: str | None = "0007_vectors_inline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "ingest_job_files"
_WHOLE = "uq_ingest_job_files_job_id_name"
_PIECES = "uq_ingest_job_files_job_id_name_part"


def upgrade() -> None:
    op.add_column(_TABLE, sa.Column("part", sa.Integer(), server_default="0", nullable=False))
    op.alter_column(_TABLE, "part", server_default=None)
    op.drop_constraint(_WHOLE, _TABLE, type_="unique")
    op.create_unique_constraint(_PIECES, _TABLE, ["job_id", "name", "part"])


def downgrade() -> None:
    op.execute(
        f"""
        UPDATE {_TABLE} AS first SET content = whole.content
        FROM (
            SELECT job_id, name, string_agg(content, ''::bytea ORDER BY part) AS content
            FROM {_TABLE} GROUP BY job_id, name HAVING count(*) > 1
        ) AS whole
        WHERE first.job_id = whole.job_id AND first.name = whole.name AND first.part = 0
        """
    )
    op.execute(f"DELETE FROM {_TABLE} WHERE part > 0")
    op.drop_constraint(_PIECES, _TABLE, type_="unique")
    op.create_unique_constraint(_WHOLE, _TABLE, ["job_id", "name"])
    op.drop_column(_TABLE, "part")
