"""The run's count of repeated text (`ingest.repeated`) on chunks as the chunker cuts them:
what is cut from a document's first and last chunks, and what never is."""

from __future__ import annotations

from ingest.chunker import chunk_blocks, count_tokens
from ingest.loaders import Block
from ingest.repeated import EDGE_KEEP, RepeatedChunks

HEADER = "Acme Docs\n\nSmall. Fast. Reliable.\n\n- Home\n\n- About\n\n"
# pages' own words: closing paragraphs that differ only in their digits count as one footer
TOPICS = [chr(ord("a") + n) * 3 for n in range(14)]  # "aaa", "bbb", ...


def _chunks(text: str) -> list:
    return chunk_blocks([Block(text, "", None)], 256, 32)


def _run(texts: list[str]) -> tuple[RepeatedChunks, list[list]]:
    run = RepeatedChunks(256)
    return run, [list(run.kept(_chunks(text))) for text in texts]


def test_the_opening_run_is_cut_once_edge_keep_documents_open_with_it() -> None:
    run, kept = _run(
        [f"{HEADER}Page {TOPICS[n]} says its own thing." for n in range(EDGE_KEEP + 2)]
    )
    for n, chunks in enumerate(kept):
        (chunk,) = chunks
        own = f"Page {TOPICS[n]} says its own thing."
        assert chunk.text == (HEADER + own if n < EDGE_KEEP else own)
        assert chunk.token_count == count_tokens(chunk.text)
        assert (HEADER + own)[chunk.start : chunk.end] == chunk.text  # still a slice of its block
    assert run.dropped == 0


def test_only_an_unbroken_opening_run_is_cut() -> None:
    """A repeated paragraph after the page's own first line is the page's text."""
    texts = [f"{HEADER}Page {t}.\n\n- Home\n\nMore of page {t}." for t in TOPICS[: EDGE_KEEP + 1]]
    _, kept = _run(texts)
    last = TOPICS[EDGE_KEEP]
    assert kept[-1][0].text == f"Page {last}.\n\n- Home\n\nMore of page {last}."


def test_a_code_block_that_opens_pages_is_never_cut_into() -> None:
    code = "```\n$ make install\n```\n\n"
    _, kept = _run([f"{code}Page {t} explains the install." for t in TOPICS[: EDGE_KEEP + 1]])
    assert kept[-1][0].text.startswith("```\n$ make install")


def test_a_first_chunk_that_is_only_the_header_goes_and_a_page_is_never_empty() -> None:
    """A header chunk of its own is left out (counted as repeated); a page holding only
    the header keeps it."""

    def blocks(topic: str) -> list[Block]:
        return [Block(HEADER, "", None), Block(f"The {topic} section.", "Section", None)]

    run = RepeatedChunks(256)
    for topic in TOPICS[:EDGE_KEEP]:
        run.kept(chunk_blocks(blocks(topic), 256, 32))
    before = run.dropped
    kept = list(run.kept(chunk_blocks(blocks(TOPICS[EDGE_KEEP]), 256, 32)))
    assert [c.text for c in kept] == [f"The {TOPICS[EDGE_KEEP]} section."]
    assert run.dropped == before + 1
    only = list(run.kept(_chunks(HEADER)))
    assert len(only) == 1 and only[0].text.startswith("Acme Docs")


def test_nothing_cut_gives_the_same_chunks_back() -> None:
    run = RepeatedChunks(256)
    chunks = _chunks("A page of its own.")
    assert run.kept(chunks) is chunks


def test_a_footer_with_its_own_date_on_each_page_is_cut_from_the_last_chunk() -> None:
    """SQLite closes each page with "This page last modified on <date>": closing
    paragraphs compare with their digits masked."""
    texts = [
        f"{HEADER}Page {TOPICS[n]} says its own thing.\n\nThis page last modified on 2022-06-1{n}."
        for n in range(EDGE_KEEP + 2)
    ]
    _, kept = _run(texts)
    for n, chunks in enumerate(kept):
        (chunk,) = chunks
        own = f"Page {TOPICS[n]} says its own thing."
        footer = f"\n\nThis page last modified on 2022-06-{n + 10}."
        assert chunk.text == (HEADER + own + footer if n < EDGE_KEEP else own)
        assert texts[n][chunk.start : chunk.end] == chunk.text


def test_a_code_block_that_closes_pages_is_never_cut_into() -> None:
    code = "\n\n```\n$ make test 1\n```"
    _, kept = _run([f"Page {t} explains the tests.{code}" for t in TOPICS[: EDGE_KEEP + 1]])
    assert kept[-1][0].text.endswith("```\n$ make test 1\n```")


def test_a_page_that_is_only_its_header_and_footer_keeps_them() -> None:
    texts = [f"{HEADER}Page {t}.\n\nLast updated 2024." for t in TOPICS[:EDGE_KEEP]]
    run, _ = _run(texts)
    only = list(run.kept(_chunks(f"{HEADER}Last updated 2025.")))
    assert len(only) == 1 and only[0].text == f"{HEADER}Last updated 2025."
