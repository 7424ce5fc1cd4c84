"""`pgask ask`: a cited answer, streamed to the terminal, then the numbered sources."""

from __future__ import annotations

import sys
from typing import Annotated, assert_never

import typer
from rich.live import Live
from rich.markdown import Markdown

from app.api.schemas.ask import AskOut
from app.commands import common
from app.commands.common import CollectionOption, JsonOption
from app.commands.search import parse_filter
from app.config import Settings
from app.errors import UpstreamError
from app.rag.events import DeltaEvent, DoneEvent, ErrorEvent, SourcesEvent
from app.rag.service import Answerer, AskRequest
from app.rag.sources import AnswerSource, place
from app.search.service import Mode


def ask_cmd(
    question: Annotated[str, typer.Argument(help="The question")],
    collection: CollectionOption,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Passages to retrieve")] = 8,
    mode: Annotated[Mode, typer.Option(help="vector, text or hybrid")] = "hybrid",
    filter_json: Annotated[
        str | None, typer.Option("--filter", help='e.g. \'{"lang": "en"}\'')
    ] = None,
    max_per_document: Annotated[
        int | None,
        typer.Option(
            "--max-per-document",
            min=0,
            max=50,
            help="Most sources from one document (0: no cap; default: PGASK_ASK_MAX_PER_DOCUMENT)",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from a collection, citing the passages used."""
    request = AskRequest(
        collection=collection,
        question=question,
        k=k,
        mode=mode,
        filter=parse_filter(filter_json),
        max_per_document=max_per_document,
    )

    async def run(settings: Settings) -> None:
        async with common.started(settings, embedder=mode != "text") as services:
            principal = await services.acting_principal()
            answerer = services.answerer(principal, mode=mode)
            if as_json:
                common.print_json(
                    AskOut.model_validate(await answerer.answer(request)).model_dump()
                )
            else:
                await _stream(answerer, request)

    common.run_async(run)


class _Answer:
    """The answer as it streams: on a terminal rendered as Markdown (code blocks and tables
    as such), re-drawn with each piece; elsewhere (a pipe, a file) written as it comes."""

    def __init__(self) -> None:
        self.text = ""
        self.live: Live | None = None
        if common.console.is_terminal:
            self.live = Live(
                Markdown(""),
                console=common.console,
                refresh_per_second=8,
                vertical_overflow="visible",
            )
            self.live.start()

    def add(self, piece: str) -> None:
        self.text += piece
        if self.live is not None:
            self.live.update(Markdown(self.text))
        else:
            sys.stdout.write(piece)
            sys.stdout.flush()

    def end(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
            common.console.print()
        else:
            sys.stdout.write("\n\n")


async def _stream(answerer: Answerer, request: AskRequest) -> None:
    sources: list[AnswerSource] = []
    answer = _Answer()
    try:
        await _events(answerer, request, answer, sources)
    finally:
        if answer.live is not None:
            answer.live.stop()


async def _events(
    answerer: Answerer, request: AskRequest, answer: _Answer, sources: list[AnswerSource]
) -> None:
    async for event in answerer.stream(request):
        match event:
            case SourcesEvent():
                sources[:] = event.sources
            case DeltaEvent():
                answer.add(event.text)
            case ErrorEvent():
                answer.end()
                raise UpstreamError(event.detail)
            case DoneEvent():
                answer.end()
                _print_sources(sources, {c.n for c in event.citations})
                common.console.print(
                    f"{len(sources)} sources, {len(event.citations)} cited · "
                    + " · ".join(
                        f"{name.removesuffix('_ms')} {ms:.0f} ms"
                        for name, ms in event.timings.items()
                    ),
                    style="dim",
                    highlight=False,
                )
            case _:
                assert_never(event)  # a new kind of event must be handled here


def _print_sources(sources: list[AnswerSource], cited: set[int]) -> None:
    for source in sources:
        page = f", page {source.page}" if source.page else ""
        mark = "*" if source.n in cited else " "
        common.console.print(
            f"{mark}[{source.n}] {place(source)} ({source.source}{page})",
            markup=False,
            highlight=False,
        )
