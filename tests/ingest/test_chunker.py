"""The chunker's promises, checked on generated text (hypothesis) and on real documents."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunker import chunk_blocks, count_tokens
from ingest.loaders import Block, load_file

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"

# No fence or table characters: a chunk cut inside a code block or table is given its
# fence or header back (tests/ingest/test_html_generators.py), so its text is not its span.
words = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\x00`~|"),
    min_size=1,
    max_size=12,
)
separators = st.sampled_from([" ", " ", " ", ". ", "\n", "\n\n", "! ", "\u3002", "\t"])
_NOT_MARKUP = str.maketrans("", "", "\x00`~|")  # as `words`, for arbitrary text
texts = st.lists(st.tuples(words, separators), max_size=120).map(
    lambda parts: "".join(w + s for w, s in parts)
)


def _check(text: str, size: int, overlap: int, model_limit=None) -> None:
    chunks = chunk_blocks([Block(text, "S", 3)], size, overlap, model_limit)
    previous_end = 0
    for i, chunk in enumerate(chunks):
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip() == chunk.text and chunk.text
        assert chunk.token_count == count_tokens(chunk.text) <= size
        assert (chunk.section, chunk.page) == ("S", 3)
        if i == 0:
            assert text[: chunk.start].strip() == ""  # nothing lost at the start
        elif chunk.start >= previous_end:
            assert text[previous_end : chunk.start].strip() == ""  # nothing lost between
        else:
            # repeated text is at most the overlap, and each chunk moves forward
            assert count_tokens(text[chunk.start : previous_end]) <= overlap
            assert chunk.end > previous_end
        previous_end = chunk.end
    assert text[previous_end:].strip() == ""  # nothing lost at the end
    assert bool(chunks) == bool(text.strip())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, size=st.integers(8, 80), overlap_share=st.floats(0, 0.9))
def test_no_text_lost_or_repeated_beyond_overlap(text: str, size: int, overlap_share: float):
    _check(text, size, int(size * overlap_share))


@settings(max_examples=60, deadline=None)
@given(text=texts, most=st.integers(3, 40))
def test_model_limit_is_kept_without_losing_text(text: str, most: int) -> None:
    """A model counting one token per character: every chunk fits it, nothing is lost."""
    _check(text, 40, 8, (len, most))
    assert all(len(c.text) <= most for c in chunk_blocks([Block(text)], 40, 8, (len, most)))


@settings(max_examples=40, deadline=None)
@given(text=st.text(min_size=0, max_size=3000).map(lambda t: t.translate(_NOT_MARKUP)))
def test_arbitrary_unicode_without_breaks(text: str) -> None:
    _check(text, 16, 4)


def test_long_unbroken_string_is_cut_into_windows() -> None:
    text = "x" * 20_000 + " tail"
    _check(text, 50, 10)
    assert len(chunk_blocks([Block(text)], 50, 10)) > 40


def test_empty_input_gives_no_chunks() -> None:
    assert chunk_blocks([], 100, 10) == []
    assert chunk_blocks([Block("   \n\n ")], 100, 10) == []


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_blocks([Block(text)], 40, 12)
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end  # sentences of ~7 tokens fit in 12 of overlap


def test_markdown_sections_become_chunk_sections() -> None:
    doc = load_file(
        "guide.md",
        b"# Guide\n\nIntro.\n\n## Install\n\nRun pip.\n\n### Offline\n\nUse the path.\n\n"
        b"## Use\n\nAsk it.\n",
    )
    sections = [c.section for c in chunk_blocks(doc.blocks, 100, 10)]
    assert sections == ["Guide", "Guide > Install", "Guide > Install > Offline", "Guide > Use"]
    assert doc.title == "Guide"


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        chunk_blocks([Block("x")], 10, 10)


@pytest.fixture(scope="module")
def word_pieces():
    if not MODEL.is_dir():
        pytest.skip("needs ../shared's model tokenizer")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()  # the model's file pads to 128: a count, not a batch
    return lambda text: len(tokenizer.encode(text).ids)  # includes [CLS] and [SEP]


def _word_pieces_of_chunks(
    samples: list[bytes],
    word_pieces,
    model_limit=None,
    size: int | None = None,
    *,
    embedded: bool = False,
) -> list[int]:
    from app.catalog import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE

    counts = []
    for i, data in enumerate(samples):
        doc = load_file(f"s{i}.md", data)
        title = doc.title if embedded else None
        chunks = chunk_blocks(
            doc.blocks, size or DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP, model_limit, title
        )
        counts += [word_pieces(c.embedded if embedded else c.text) for c in chunks]
    return counts


def test_default_chunks_fit_minilm_word_pieces(word_pieces) -> None:
    """What is embedded (context line and chunk) stays under MiniLM's 256 word pieces with
    the collection default and the model's limit, as ingestion cuts them, on the sample
    corpus, the docs site's pages, the ingest code, long numbers and URLs."""
    samples = [p.read_bytes() for p in sorted((ROOT / "examples" / "sample-docs").glob("*.md"))]
    samples += [p.read_bytes() for p in sorted((ROOT / "docs").rglob("*.md"))]
    samples += [p.read_bytes() for p in sorted((ROOT / "ingest").glob("*.py"))]
    samples.append(" ".join(str(n * 7919) for n in range(3000)).encode())
    samples.append(" ".join(f"https://example.com/a/{n}?q=é" for n in range(500)).encode())
    samples.append(("Größenänderung café naïve façade " * 300).encode())
    samples.append(("東京は日本の首都です。" * 300).encode())
    counts = _word_pieces_of_chunks(samples, word_pieces, (word_pieces, 256), embedded=True)
    assert max(counts) <= 256


def test_model_limit_catches_what_cl100k_underestimates(word_pieces) -> None:
    """Cyrillic takes ~1.7 word pieces per cl100k token: a collection with chunk_size 250
    only stays under the limit through the model's own count."""
    russian = [("Быстрая коричневая лиса прыгает через ленивую собаку. " * 200).encode()]
    assert max(_word_pieces_of_chunks(russian, word_pieces, size=250)) > 256
    fitted = _word_pieces_of_chunks(russian, word_pieces, (word_pieces, 256), size=250)
    assert max(fitted) <= 256


def test_context_line_is_budgeted_and_never_stored(word_pieces) -> None:
    """Each chunk carries "title > heading path" for the embedder; with it, the chunk still
    fits the model's limit, and the chunk's own text stays what the block holds."""
    heading = "Deploying behind a proxy with a very long heading " * 8
    text = f"# Guide\n\n## {heading}\n\n" + "Set the root path when a proxy strips a prefix. " * 80
    doc = load_file("guide.md", text.encode())
    chunks = chunk_blocks(doc.blocks, 160, 30, (word_pieces, 256), doc.title)
    assert len(chunks) > 2
    for c in chunks:
        assert c.context.startswith("Guide > Deploying behind a proxy")
        assert count_tokens(c.context) <= 160 // 4  # cut to its share of the budget
        assert c.embedded == f"{c.context}\n\n{c.text}"
        assert word_pieces(c.embedded) <= 256
        assert c.text == doc.blocks[c.block].text[c.start : c.end]
    untitled = chunk_blocks(doc.blocks, 160, 30, (word_pieces, 256))
    assert {c.context for c in untitled} == {""}  # no title given: embedded as stored


def test_context_line_names_the_title_once() -> None:
    from ingest.embedded import context_line

    assert context_line("FastAPI", "FastAPI > Install > pip") == "FastAPI > Install > pip"
    assert context_line("CORS", "First steps > Origins") == "CORS > First steps > Origins"
    assert context_line("", "") == ""
    assert context_line("Only a title", "") == "Only a title"


def test_context_line_carries_the_summary_after_the_title() -> None:
    """A reference page's title is only its name: its one-line purpose follows it, before
    the heading path, in what is embedded (never in what is stored)."""
    from ingest.embedded import context_line

    line = context_line("git-push(1)", "OPTIONS", "Update remote refs")
    assert line == "git-push(1) \u2014 Update remote refs > OPTIONS"
    assert context_line("pg_restore", "", "restore a database") == (
        "pg_restore \u2014 restore a database"
    )
    assert context_line("", "Usage", "a summary alone") == "a summary alone > Usage"


def test_a_records_summary_joins_its_chunks_context() -> None:
    """`metadata.summary` of any document (a JSON Lines record's own) is in each chunk's
    context; a summary that is not text is left out, and the stored text never holds it."""
    from ingest.loaders import Block, LoadedDocument
    from ingest.prepare import Chunking, chunk

    blocks = [Block("Set the prefix the proxy strips.", "Usage")]
    chunking = Chunking(size=200, overlap=20, model_limit=None)
    doc = LoadedDocument("a", blocks, title="root_path", metadata={"summary": "the app's prefix"})
    (first,) = chunk(doc, chunking)
    assert first.context == "root_path \u2014 the app's prefix > Usage"
    assert first.text == "Set the prefix the proxy strips."
    odd = LoadedDocument("b", blocks, title="root_path", metadata={"summary": {"x": 1}})
    assert [c.context for c in chunk(odd, chunking)] == ["root_path > Usage"]


def test_a_fence_the_text_never_closes_is_not_closed() -> None:
    """Found by hypothesis: a lone opening fence at the end of a text came back closed."""
    _check("``` ", 40, 8, (len, 7))
    _check("intro\n```python\nprint(1)", 40, 8, (len, 30))
