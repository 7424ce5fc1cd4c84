"""The local provider on the real MiniLM model (../shared/models/all-MiniLM-L6-v2-onnx)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from app.config import load_settings
from app.embeddings import build_embedder
from app.embeddings.local import LocalEmbedder, available_cores, runs

pytestmark = pytest.mark.anyio

TEXTS = [
    "PostgreSQL stores rows in heap pages.",
    "The cat sat on the mat and looked out of the window at the rain all afternoon long.",
    "pgvector adds an HNSW index.",
]
LONG = " ".join(str(n) for n in range(1000, 1330))  # 656 word pieces


async def test_vectors_are_unit_length_float32_and_deterministic(
    local_embedder: LocalEmbedder,
) -> None:
    assert (local_embedder.provider, local_embedder.dimensions) == ("local", 384)
    first = await local_embedder.embed_documents(TEXTS)
    again = await local_embedder.embed_documents(TEXTS)
    assert first.dtype == np.float32 and first.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(first, again)
    # Rows come back in input order although they are embedded shortest first.
    alone = np.stack([await local_embedder.embed_query(text) for text in TEXTS])
    np.testing.assert_allclose(first, alone, atol=1e-5)


async def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(
    local_embedder: LocalEmbedder,
) -> None:
    query = await local_embedder.embed_query("How do I make my database searches faster?")
    docs = await local_embedder.embed_documents(
        [
            "Adding an index speeds up queries on a database table.",
            "My grandmother bakes bread every Sunday morning.",
        ]
    )
    paraphrase, unrelated = docs @ query
    assert paraphrase > unrelated + 0.2


async def test_a_long_query_is_cut_to_256_word_pieces_with_a_warning(
    local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    assert local_embedder.max_input_tokens == 256
    assert local_embedder.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
    assert local_embedder.count_tokens(LONG) == 656
    with caplog.at_level(logging.WARNING, logger="app.embeddings.local"):
        long = await local_embedder.embed_query(LONG)
    assert "query is" in caplog.text and "limit of 256" in caplog.text
    # What lies past word piece 256 changes nothing (the tokenizer config's 512 is not
    # used); what lies before it does.
    mid = prefix(local_embedder, 300)
    changed_tail = await local_embedder.embed_query(mid + " zebra giraffe" * 20)
    np.testing.assert_allclose(await local_embedder.embed_query(mid), changed_tail, atol=1e-6)
    np.testing.assert_allclose(long, await local_embedder.embed_query(mid), atol=1e-6)
    shorter = await local_embedder.embed_query(prefix(local_embedder, 240))
    assert float(long @ shorter) < 0.9999


def prefix(embedder: LocalEmbedder, pieces: int) -> str:
    """The longest run of LONG's first words that is at most `pieces` word pieces."""
    words = LONG.split()
    while embedder.count_tokens(" ".join(words)) > pieces:
        words.pop()
    return " ".join(words)


async def test_long_documents_are_reported(
    local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.embeddings.local"):
        await local_embedder.embed_documents(["short", LONG])
    assert "1 of 2 documents are longer than" in caplog.text
    assert "split them into smaller chunks" in caplog.text


def test_batch_size_and_threads_come_from_settings(local_embedder: LocalEmbedder) -> None:
    assert local_embedder.threads == available_cores()
    assert local_embedder.batch_size == 64
    tuned = build_embedder(
        load_settings(_env_file=None, embedding_threads=1, embedding_batch_size=8)
    )
    assert isinstance(tuned, LocalEmbedder)
    assert (tuned.threads, tuned.batch_size) == (1, 8)


def test_a_missing_model_folder_names_embedding_model_path(tmp_path) -> None:
    from app.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^EMBEDDING_MODEL_PATH=.*missing: cannot load"):
        LocalEmbedder(
            "sentence-transformers/all-MiniLM-L6-v2",
            model_path=tmp_path / "missing",
            cache_dir=tmp_path,
        )


def test_offline_without_a_model_the_error_says_to_set_embedding_model_path(
    tmp_path, monkeypatch
) -> None:
    from app.errors import ConfigError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what a machine without network sees
    with pytest.raises(ConfigError, match="set EMBEDDING_MODEL_PATH to a folder"):
        LocalEmbedder("sentence-transformers/all-MiniLM-L6-v2", cache_dir=tmp_path)


def test_runs_of_the_model_are_bounded_by_texts_and_cells() -> None:
    """Padded lengths in ascending order: a run ends before it would pass `max_cells`
    (texts x its longest) or `batch_size` texts; a text longer than `max_cells` runs alone."""
    lengths = [10] * 100 + [200] * 30 + [256] * 3 + [600]
    ends = runs(lengths, batch_size=64, max_cells=2048)
    sizes = np.diff([0, *ends])
    assert ends[-1] == len(lengths) and sizes.sum() == len(lengths)
    for start, end in zip([0, *ends], ends, strict=False):
        assert end - start <= 64
        assert end - start == 1 or (end - start) * lengths[end - 1] <= 2048
    assert sizes.tolist() == [64, 36, 10, 10, 10, 3, 1]
    assert runs([], batch_size=64, max_cells=2048) == []


async def test_texts_split_into_many_runs_keep_their_vectors_and_order(
    local_embedder: LocalEmbedder,
) -> None:
    """Runs of one text each (the smallest cell budget) give the vectors of one run."""
    texts = [*TEXTS, LONG, "short"]
    whole = await local_embedder.embed_documents(texts)
    single = LocalEmbedder(
        local_embedder.model,
        model_path=load_settings(_env_file=None).embedding_model_path,
        max_cells=1,
    )
    np.testing.assert_allclose(await single.embed_documents(texts), whole, atol=1e-5)
