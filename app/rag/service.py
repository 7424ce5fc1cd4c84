"""Ask: (rewrite a follow-up) -> search -> budgeted prompt -> chat model (or extractive)
-> cited answer, whole or as a stream of events.

The database session lives only for the search: it is closed before the model is called,
so no connection is held while tokens stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal
from app.completion import Completion, Usage
from app.config import AnswerSettings
from app.db.database import Database
from app.embeddings import Embedder
from app.errors import InvalidInput, PgaskError, UpstreamError
from app.rag.citations import Citation, CitationFilter, clean_answer, parse_citations
from app.rag.events import AnswerEvent, DeltaEvent, DoneEvent, ErrorEvent, SourcesEvent
from app.rag.extractive import extractive_answer
from app.rag.prompt import Prompt, build_prompt
from app.rag.sources import AnswerSource
from app.search.kinds import default_kinds
from app.search.service import (
    MAX_K,
    Hit,
    Mode,
    SearchRequest,
    SearchResult,
    per_document_cap,
    run_search,
)
from app.validation import summary_of

if TYPE_CHECKING:  # the openai package is imported only when a chat model is configured
    from app.llm import ChatModel

log = logging.getLogger(__name__)

REWRITE_PROMPT = """\
Rewrite the user's last message as a standalone search query for a document search engine, \
using the conversation for context (resolve pronouns like "it" or "its"). Answer with the \
query only, no quotes, no explanation."""
REWRITE_HISTORY_TURNS = 6


@dataclass(frozen=True)
class AskRequest:
    collection: str
    question: str
    k: int = 8
    mode: Mode = "hybrid"
    filter: dict[str, Any] | None = None
    history: Sequence[dict[str, str]] = ()
    #: most sources from one document; None: PGASK_ASK_MAX_PER_DOCUMENT, 0: no cap
    max_per_document: int | None = None
    rewrite: bool = True


@dataclass
class Retrieval:
    query: str  # what was searched: the question, or its standalone rewrite
    rewritten: bool
    sources: list[AnswerSource]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Answer:
    answer: str
    generated: bool
    citations: list[Citation]
    sources: list[AnswerSource]
    search_query: str
    rewritten: bool
    usage: Usage
    timings: dict[str, float]
    dropped_sources: int = 0


def sources_payload(sources: Sequence[AnswerSource]) -> list[dict[str, Any]]:
    return [asdict(s) for s in sources]


class Answerer:
    """Answers questions over one database with one embedder; `chat` None: extractive;
    `embedder` None: text search only (a command that did not load the model). Its
    searches act as `principal` (row-level security; None sees nothing)."""

    def __init__(
        self,
        db: Database,
        embedder: Embedder | None,
        chat: ChatModel | None,
        settings: AnswerSettings,
        principal: Principal | None,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.chat = chat
        self.settings = settings
        self.principal = principal

    async def retrieve(self, request: AskRequest) -> Retrieval:
        timings: dict[str, float] = {}
        query, rewritten = await self._search_query(request, timings)
        search = SearchRequest(
            mode=request.mode,
            k=request.k,
            query=query,
            filter=request.filter,
            max_per_document=per_document_cap(
                request.max_per_document, self.settings.max_per_document
            ),
        )
        # a replica may answer it
        async with self.db.read_session(principal=self.principal) as session:
            result = await run_search(session, self.embedder, request.collection, search)
            if not result.hits and default_kinds(request.filter, query) != default_kinds(
                request.filter
            ):  # only changelogs match: they answer after all
                search = replace(search, filter=default_kinds(request.filter))
                result = await run_search(session, self.embedder, request.collection, search)
            hits, page_ms = await self._with_page(session, request.collection, search, result)
        timings.update(embed_ms=result.embed_ms, search_ms=result.search_ms + page_ms)
        sources = [
            AnswerSource(
                n=n,
                text=h.text or "",
                score=h.score,
                summary=summary_of(h.metadata),
                **h.passage_fields(),
            )
            for n, h in enumerate(hits, start=1)
        ]
        return Retrieval(query, rewritten, sources, timings)

    async def _with_page(
        self, session: AsyncSession, collection: str, search: SearchRequest, result: SearchResult
    ) -> tuple[list[Hit], float]:
        """The hits with up to `page_passages` more passages of the first hit's page right
        after it, found by the same search within that page. The page that answers often
        holds the command or the definition asked for in a passage ranked below other
        pages' (docs/decisions/0041-answers-read-more-of-the-best-page.md). Also the
        milliseconds that search took."""
        wanted = self.settings.page_passages
        if not wanted or not result.hits:
            return result.hits, 0.0
        first = result.hits[0]
        page = {"external_id": first.external_id}
        have = {h.chunk_id for h in result.hits}
        within = replace(
            search,
            k=min(MAX_K, wanted + sum(h.document_id == first.document_id for h in result.hits)),
            vector=result.vector,
            filter={"$and": [search.filter, page]} if search.filter else page,
            max_per_document=None,
        )
        more = await run_search(session, self.embedder, collection, within)
        extra = [h for h in more.hits if h.chunk_id not in have][:wanted]
        return [first, *extra, *result.hits[1:]], more.search_ms

    async def _search_query(
        self, request: AskRequest, timings: dict[str, float]
    ) -> tuple[str, bool]:
        if not (request.history and request.rewrite and self.chat):
            return request.question, False
        turns = [
            *request.history[-REWRITE_HISTORY_TURNS:],
            {"role": "user", "content": request.question},
        ]
        transcript = "\n".join(f"{t['role']}: {t['content']}" for t in turns)
        started = time.perf_counter()
        completion = await self.chat.complete(
            [{"role": "system", "content": REWRITE_PROMPT}, {"role": "user", "content": transcript}]
        )
        timings["rewrite_ms"] = (time.perf_counter() - started) * 1000
        query = " ".join(completion.text.split()).strip("\"'")
        return (query, True) if query else (request.question, False)

    def prompt(self, request: AskRequest, retrieval: Retrieval) -> Prompt:
        settings = self.settings
        try:
            return build_prompt(
                request.question,
                retrieval.sources,
                history=request.history,
                context_tokens=settings.context_tokens,
                answer_tokens=settings.answer_tokens,
            )
        except ValueError as exc:
            raise InvalidInput(f"question and history are too long: {exc}") from exc

    def _with_sources(self, error: PgaskError, retrieval: Retrieval) -> PgaskError:
        """Model failures still hand back what was retrieved."""
        error.extra = {
            **error.extra,
            "sources": sources_payload(retrieval.sources),
            "search_query": retrieval.query,
        }
        return error

    async def answer(self, request: AskRequest) -> Answer:
        retrieval = await self.retrieve(request)
        if self.chat is None:
            text = extractive_answer(retrieval.sources, request.question)
            return self._finish(retrieval, Completion(text), generated=False, dropped=0)
        prompt = self.prompt(request, retrieval)
        started = time.perf_counter()
        try:
            completion = await self.chat.complete(prompt.messages)
        except UpstreamError as exc:
            raise self._with_sources(exc, retrieval) from exc
        retrieval.timings["llm_ms"] = (time.perf_counter() - started) * 1000
        retrieval.sources = prompt.sources
        return self._finish(retrieval, completion, generated=True, dropped=prompt.dropped)

    def _finish(
        self, retrieval: Retrieval, completion: Completion, *, generated: bool, dropped: int
    ) -> Answer:
        # A model may cite numbers no source has: they are taken out of its text
        # (CitationFilter). An extractive answer cites only the passages it quotes.
        text = clean_answer(completion.text, retrieval.sources) if generated else completion.text
        return Answer(
            answer=text,
            generated=generated,
            citations=parse_citations(text, retrieval.sources),
            sources=retrieval.sources,
            search_query=retrieval.query,
            rewritten=retrieval.rewritten,
            usage=completion.usage,
            timings=retrieval.timings,
            dropped_sources=dropped,
        )

    async def stream(self, request: AskRequest) -> AsyncIterator[AnswerEvent]:
        """Sources, then deltas, then done, or error (app/rag/events.py)."""
        retrieval = await self.retrieve(request)
        if self.chat is None:
            answer = self._finish(
                retrieval,
                Completion(extractive_answer(retrieval.sources, request.question)),
                generated=False,
                dropped=0,
            )
            yield sources_event(retrieval, generated=False)
            yield DeltaEvent(answer.answer)
            yield done_event(answer)
            return
        prompt = self.prompt(request, retrieval)
        retrieval.sources = prompt.sources
        yield sources_event(retrieval, generated=True)
        started = time.perf_counter()
        text, usage = "", Usage()
        cleaner = CitationFilter({s.n for s in prompt.sources})  # as `_finish` cleans `text`
        try:
            async for piece in self.chat.stream(prompt.messages):
                if isinstance(piece, Usage):
                    usage = piece
                else:
                    text += piece
                    if sent := cleaner.feed(piece):
                        yield DeltaEvent(sent)
        except UpstreamError as exc:
            yield ErrorEvent.of(exc)
            return
        if rest := cleaner.finish():
            yield DeltaEvent(rest)
        retrieval.timings["llm_ms"] = (time.perf_counter() - started) * 1000
        answer = self._finish(
            retrieval, Completion(text, usage), generated=True, dropped=prompt.dropped
        )
        yield done_event(answer)


def sources_event(retrieval: Retrieval, *, generated: bool) -> SourcesEvent:
    return SourcesEvent(
        sources=retrieval.sources,
        search_query=retrieval.query,
        rewritten=retrieval.rewritten,
        generated=generated,
    )


def done_event(answer: Answer) -> DoneEvent:
    return DoneEvent(
        answer=answer.answer,
        generated=answer.generated,
        citations=answer.citations,
        usage=answer.usage,
        timings=answer.timings,
        dropped_sources=answer.dropped_sources,
    )
