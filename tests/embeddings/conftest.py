"""The local model, loaded once for this folder's tests (from ../shared when present)."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.embeddings import build_embedder
from app.embeddings.local import LocalEmbedder


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    built = build_embedder(load_settings(_env_file=None))
    assert isinstance(built, LocalEmbedder)
    return built
