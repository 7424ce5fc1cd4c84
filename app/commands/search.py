"""`pgask search` and `pgask eval`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from app.commands.common import (
    CollectionOption,
    JsonOption,
    console,
    print_json,
    run_async,
    started,
)
from app.config import Settings
from app.errors import InvalidInput
from app.search.beir import load_dataset
from app.search.evaluate import EVAL_DEPTH, evaluate
from app.search.filters import compile_filter
from app.search.service import (
    EF_SEARCH_MAX,
    MAX_K,
    Mode,
    SearchRequest,
    SearchResult,
    per_document_cap,
    run_search,
)

MaxPerDocumentOption = Annotated[
    int | None,
    typer.Option(
        "--max-per-document",
        min=0,
        max=MAX_K,
        help="Most hits from one document (0: no cap; default: PGASK_SEARCH_MAX_PER_DOCUMENT)",
    ),
]


def parse_filter(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"--filter: not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidInput("--filter: expected a JSON object")
    compile_filter(parsed)  # a bad filter fails now, not after the model has loaded
    return parsed


def search_cmd(
    query: Annotated[str, typer.Argument(help="What to look for")],
    collection: CollectionOption,
    mode: Annotated[Mode, typer.Option(help="vector, text or hybrid")] = "hybrid",
    k: Annotated[int, typer.Option("-k", min=1, max=MAX_K, help="How many hits")] = 10,
    filter_json: Annotated[
        str | None, typer.Option("--filter", help='e.g. \'{"year": {"$gte": 2020}}\'')
    ] = None,
    max_per_document: MaxPerDocumentOption = None,
    ef_search: Annotated[
        int | None,
        typer.Option(
            "--ef-search",
            min=1,
            max=EF_SEARCH_MAX,
            help="HNSW candidate list (default max(100, 4k)): more recall, slower",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Search a collection and print the ranked chunks."""
    request = SearchRequest(
        mode, k=k, query=query, filter=parse_filter(filter_json), ef_search=ef_search
    )

    async def run(settings: Settings) -> SearchResult:
        cap = per_document_cap(max_per_document, settings.search.max_per_document)
        request_capped = replace(request, max_per_document=cap)
        async with started(settings, embedder=mode != "text") as services:
            principal = await services.acting_principal()
            async with services.db.session(principal=principal) as session:
                embedder = services.embedder_for(mode)
                return await run_search(session, embedder, collection, request_capped)

    result = run_async(run)
    if as_json:
        print_json(
            {
                "collection": collection,
                "mode": mode,
                "hits": [vars(h) for h in result.hits],
                "timings": {"embed_ms": result.embed_ms, "search_ms": result.search_ms},
            }
        )
        return
    table = Table("#", "score", "document", "section", "text")
    for rank, hit in enumerate(result.hits, 1):
        snippet = " ".join((hit.text or "").split())
        table.add_row(
            str(rank),
            f"{hit.score:.4f}",
            hit.title or hit.external_id,
            hit.section,
            snippet[:160] + ("…" if len(snippet) > 160 else ""),
        )
    console.print(table)
    console.print(
        f"{len(result.hits)} hits ({mode}) in {result.search_ms:.1f} ms "
        f"(+ {result.embed_ms:.1f} ms embedding)"
    )


def eval_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="BEIR folder: queries.jsonl, qrels/")],
    collection: CollectionOption,
    mode: Annotated[
        list[str] | None, typer.Option(help="vector, text or hybrid; repeat it (default: all)")
    ] = None,
    max_per_document: MaxPerDocumentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score search on a BEIR data set: nDCG@10, recall@10, recall@100, MRR@10 per mode."""
    modes = _modes(mode)
    dataset = load_dataset(dataset_dir)

    async def run(settings: Settings) -> dict[str, dict[str, float]]:
        cap = per_document_cap(max_per_document, settings.search.max_per_document)
        template = SearchRequest("vector", k=EVAL_DEPTH, include_text=False, max_per_document=cap)
        async with (
            started(settings) as services,
            services.db.session(await services.acting_principal()) as session,
        ):
            with Progress(console=console, transient=True, disable=as_json) as progress:
                task = progress.add_task("evaluating", total=len(dataset.judged))
                return await evaluate(
                    session,
                    services.embedder,
                    collection,
                    dataset,
                    modes,
                    template=template,
                    on_query=lambda: progress.advance(task),
                )

    scores = run_async(run)
    if as_json:
        print_json({"collection": collection, "dataset": str(dataset_dir), "modes": scores})
        return
    names = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    table = Table("mode", *names)
    for name, values in scores.items():
        table.add_row(name, *(f"{values[n]:.3f}" for n in names))
    console.print(table)
    console.print(f"{len(dataset.judged)} judged queries evaluated on {dataset_dir}")


def _modes(given: list[str] | None) -> list[Mode]:
    allowed: tuple[Mode, ...] = ("vector", "text", "hybrid")
    chosen: list[Mode] = []
    for name in given or allowed:
        found = next((m for m in allowed if m == name), None)
        if found is None:
            raise InvalidInput(f"--mode: {name!r} is not one of vector, text, hybrid")
        chosen.append(found)
    return chosen
