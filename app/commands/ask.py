"""`pgask ask`: a cited answer, streamed to the terminal, then the numbered sources."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from app.api.schemas.ask import AskOut
from app.cli import JsonOption, app, console, print_json, run_async
from app.commands.search import CollectionOption, parse_filter
from app.config import Settings
from app.errors import UpstreamError
from app.rag.service import Answerer, AskRequest
from app.search.service import Mode
from app.services import Services


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="The question")],
    collection: CollectionOption,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Passages to retrieve")] = 8,
    mode: Annotated[Mode, typer.Option(help="vector, text or hybrid")] = "hybrid",
    filter_json: Annotated[
        str | None, typer.Option("--filter", help='e.g. \'{"lang": "en"}\'')
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
    )

    async def run(settings: Settings) -> None:
        services = await Services.start(settings)
        try:
            answerer = Answerer(services, services.chat, await services.cli_principal())
            if as_json:
                print_json(AskOut.from_answer(await answerer.answer(request)).model_dump())
            else:
                await _stream(answerer, request)
        finally:
            await services.close()

    run_async(run)


async def _stream(answerer: Answerer, request: AskRequest) -> None:
    sources: list[dict[str, Any]] = []
    async for event, data in answerer.stream(request):
        if event == "sources":
            sources = data["sources"]
        elif event == "delta":
            sys.stdout.write(data["text"])
            sys.stdout.flush()
        elif event == "error":
            sys.stdout.write("\n")
            raise UpstreamError(data["detail"])
        elif event == "done":
            sys.stdout.write("\n\n")
            _print_sources(sources, {c["n"] for c in data["citations"]})
            timings = data["timings"]
            console.print(
                f"{len(sources)} sources, {len(data['citations'])} cited · "
                + " · ".join(
                    f"{name.removesuffix('_ms')} {ms:.0f} ms" for name, ms in timings.items()
                ),
                style="dim",
                highlight=False,
            )


def _print_sources(sources: list[dict[str, Any]], cited: set[int]) -> None:
    for source in sources:
        where = " > ".join(p for p in (source["source"], source["section"]) if p)
        page = f", page {source['page']}" if source["page"] else ""
        mark = "*" if source["n"] in cited else " "
        console.print(
            f"{mark}[{source['n']}] {source['title'] or source['source']} ({where}{page})",
            markup=False,
            highlight=False,
        )
