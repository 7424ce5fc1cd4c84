"""The SSE wire format of streamed answers: each typed event gives exactly the bytes the web
page and clients have always read (event name, then its JSON payload in this key order)."""

from __future__ import annotations

from app.api.sse import format_event
from app.completion import Usage
from app.rag.citations import Citation
from app.rag.events import DeltaEvent, DoneEvent, ErrorEvent, SourcesEvent
from app.rag.sources import AnswerSource
from app.search.passage import Passage

PASSAGE = Passage(chunk_id=7, document_id=3, title="Guide", source="a.md", section="", page=2)


def test_sources_event_bytes() -> None:
    source = AnswerSource(n=1, text="Foo costs 5.", score=0.5, **PASSAGE.passage_fields())
    event = SourcesEvent(sources=[source], search_query="foo?", rewritten=False, generated=True)
    assert format_event(event) == (
        "event: sources\n"
        'data: {"sources": [{"n": 1, "chunk_id": 7, "document_id": 3, "title": "Guide", '
        '"source": "a.md", "section": "", "page": 2, "text": "Foo costs 5.", "score": 0.5, '
        '"summary": ""}], '
        '"search_query": "foo?", "rewritten": false, "generated": true}\n\n'
    )


def test_delta_and_error_event_bytes() -> None:
    assert format_event(DeltaEvent("Foo ")) == 'event: delta\ndata: {"text": "Foo "}\n\n'
    error = ErrorEvent(status=502, title="Upstream model error", detail="boom")
    assert format_event(error) == (
        'event: error\ndata: {"status": 502, "title": "Upstream model error", "detail": "boom"}\n\n'
    )


def test_done_event_bytes() -> None:
    citation = Citation(n=1, quote="Foo costs 5.", **PASSAGE.passage_fields())
    event = DoneEvent(
        answer="5 [1]",
        generated=True,
        citations=[citation],
        usage=Usage(3, 2, 5),
        timings={"search_ms": 1.5},
        dropped_sources=0,
    )
    assert format_event(event) == (
        "event: done\n"
        'data: {"answer": "5 [1]", "generated": true, "citations": [{"n": 1, "chunk_id": 7, '
        '"document_id": 3, "title": "Guide", "source": "a.md", "section": "", "page": 2, '
        '"quote": "Foo costs 5."}], "usage": {"prompt_tokens": 3, "completion_tokens": 2, '
        '"total_tokens": 5}, "timings": {"search_ms": 1.5}, "dropped_sources": 0}\n\n'
    )
