"""`pgask eval`: run a BEIR folder's judged queries through the real search, per mode."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.embeddings import Embedder
from app.search.beir import Dataset
from app.search.metrics import evaluate_run
from app.search.service import Hit, Mode, SearchRequest, run_search

EVAL_DEPTH = 100  # recall@100 needs 100 documents


def documents_in_order(hits: Sequence[Hit]) -> list[str]:
    """Hits are chunks: a document ranks where its best chunk ranks."""
    return list(dict.fromkeys(h.external_id for h in hits))


async def evaluate(
    session: AsyncSession,
    embedder: Embedder,
    collection: str,
    dataset: Dataset,
    modes: Sequence[Mode],
    *,
    template: SearchRequest | None = None,
    on_query: Callable[[], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per mode. Each query is embedded once and reused by every mode."""
    base = template or SearchRequest("vector", k=EVAL_DEPTH, include_text=False)
    judged = dataset.judged
    runs: dict[str, dict[str, list[str]]] = {mode: {} for mode in modes}
    for query_id in judged:
        text = dataset.queries[query_id]
        vector = await embedder.embed_query(text) if set(modes) != {"text"} else None
        for mode in modes:
            request = replace(base, mode=mode, query=text, vector=vector)
            result = await run_search(session, embedder, collection, request)
            runs[mode][query_id] = documents_in_order(result.hits)
            await session.rollback()  # end the search's transaction (its SET LOCALs)
        if on_query is not None:
            on_query()
    qrels = {q: dataset.qrels[q] for q in judged}
    return {mode: evaluate_run(qrels, runs[mode]) for mode in modes}
