"""The int8 variant: made from the shared model, loaded by the local provider under its own
name, close to the float32 vectors, and kept apart from float32 collections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.catalog import check_compatible
from app.config import load_settings
from app.db.models import Collection
from app.embeddings import build_embedder
from app.embeddings.local import LocalEmbedder
from app.embeddings.quantize import quantize_int8
from app.errors import ConfigError, Conflict

pytestmark = pytest.mark.anyio

TEXTS = ["How tall is Mount Everest?", "Vector indexes make similarity search fast."]


async def test_int8_model_is_close_but_pinned_apart(
    tmp_path: Path, local_embedder: LocalEmbedder, collection: Collection
) -> None:
    source = load_settings(_env_file=None).embedding_model_path
    if source is None:
        pytest.skip("needs a local model folder (EMBEDDING_MODEL_PATH, or ../shared)")
    target = quantize_int8(source, tmp_path / "int8")
    assert (target / "model.onnx").stat().st_size < (source / "model.onnx").stat().st_size / 2

    int8 = build_embedder(load_settings(_env_file=None, embedding_model_path=target))
    assert int8.model == "sentence-transformers/all-MiniLM-L6-v2@int8"
    assert int8.dimensions == 384 and int8.max_input_tokens == 256
    quantized = await int8.embed_documents(TEXTS)
    original = await local_embedder.embed_documents(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-6)
    assert np.all(np.sum(quantized * original, axis=1) > 0.95)

    check_compatible(collection, local_embedder)
    with pytest.raises(Conflict, match="@int8"):
        check_compatible(collection, int8)
    with pytest.raises(ConfigError, match="already exists"):
        quantize_int8(source, target)
