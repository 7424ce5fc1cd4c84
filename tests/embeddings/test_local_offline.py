"""No model folder, nothing in the model cache and the hub unreachable: one clear line at
once, never fastembed's download retries (three attempts with sleeps of 3, 9 and 27 s)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.cli import env_without_pgask_settings, pgask


def _closed_port() -> int:
    """A loopback port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_model_and_no_hub_is_one_line_naming_embedding_model_path(
    tmp_path: Path, db_url: str
) -> None:
    hub = f"http://127.0.0.1:{_closed_port()}"
    env = env_without_pgask_settings(
        DATABASE_URL=db_url,
        PGASK_DATA_DIR=str(tmp_path / "data"),  # an empty model cache
        HF_ENDPOINT=hub,
    )
    for name in ("EMBEDDING_MODEL_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(name, None)
    page = tmp_path / "page.md"
    page.write_text("# A page\n\nSome text.\n")

    ran = pgask(["ingest", str(page), "--collection", "offline_model"], env)

    assert ran.returncode != 0
    lines = ran.stderr.strip().splitlines()
    assert lines == [
        "loading embedding model sentence-transformers/all-MiniLM-L6-v2 ...",
        "pgask: error: embedding provider unavailable: EMBEDDING_MODEL: "
        "'sentence-transformers/all-MiniLM-L6-v2' is not in the model cache and "
        f"{hub} cannot be reached (Connection refused): set EMBEDDING_MODEL_PATH to a folder "
        "holding the model's ONNX files",
    ], ran.stderr
