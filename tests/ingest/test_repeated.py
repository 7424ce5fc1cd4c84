"""The run's count of repeated text (`ingest.repeated`) on chunks as the chunker cuts them:
what is cut from a document's first chunk, and what never is."""

from __future__ import annotations

from ingest.chunker import chunk_blocks, count_tokens
from ingest.loaders import Block
from ingest.repeated import KEEP, RepeatedChunks

HEADER = "Acme Docs\n\nSmall. Fast. Reliable.\n\n- Home\n\n- About\n\n"


def _chunks(text: str) -> list:
    return chunk_blocks([Block(text, "", None)], 256, 32)


def _run(texts: list[str]) -> tuple[RepeatedChunks, list[list]]:
    run = RepeatedChunks(256)
    return run, [list(run.kept(_chunks(text))) for text in texts]


def test_the_opening_run_is_cut_once_keep_documents_open_with_it() -> None:
    run, kept = _run([f"{HEADER}Page {n} says its own thing." for n in range(KEEP + 2)])
    for n, chunks in enumerate(kept):
        (chunk,) = chunks
        own = f"Page {n} says its own thing."
        assert chunk.text == (HEADER + own if n < KEEP else own)
        assert chunk.token_count == count_tokens(chunk.text)
        assert (HEADER + own)[chunk.start : chunk.end] == chunk.text  # still a slice of its block
    assert run.dropped == 0


def test_only_an_unbroken_opening_run_is_cut() -> None:
    """A repeated paragraph after the page's own first line is the page's text."""
    texts = [f"{HEADER}Page {n}.\n\n- Home\n\nMore of page {n}." for n in range(KEEP + 1)]
    _, kept = _run(texts)
    assert kept[-1][0].text == f"Page {KEEP}.\n\n- Home\n\nMore of page {KEEP}."


def test_a_code_block_that_opens_pages_is_never_cut_into() -> None:
    code = "```\n$ make install\n```\n\n"
    _, kept = _run([f"{code}Page {n} explains the install." for n in range(KEEP + 1)])
    assert kept[-1][0].text.startswith("```\n$ make install")


def test_a_first_chunk_that_is_only_the_header_goes_and_a_page_is_never_empty() -> None:
    """A header chunk of its own is left out (counted as repeated); a page holding only
    the header keeps it."""
    blocks = [Block(HEADER, "", None), Block("The page's own section.", "Section", None)]
    run = RepeatedChunks(256)
    for _ in range(KEEP):
        run.kept(chunk_blocks(blocks, 256, 32))
    kept = list(run.kept(chunk_blocks(blocks, 256, 32)))
    assert [c.text for c in kept] == ["The page's own section."]
    assert run.dropped == 1
    only = list(run.kept(_chunks(HEADER)))
    assert len(only) == 1 and only[0].text.startswith("Acme Docs")


def test_nothing_cut_gives_the_same_chunks_back() -> None:
    run = RepeatedChunks(256)
    chunks = _chunks("A page of its own.")
    assert run.kept(chunks) is chunks
