"""Ranking metrics as trec_eval computes them (nDCG with linear gain), for `pgask eval`.

`tests/search/test_metrics.py` checks them against pytrec_eval on random runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]  # query id -> document id -> relevance
Run = Mapping[str, Sequence[str]]  # query id -> ranked document ids, best first


def ndcg(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    gains = [max(judged.get(doc, 0), 0) for doc in ranking[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {doc for doc, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def reciprocal_rank(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for i, doc in enumerate(ranking[:k]):
        if judged.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def evaluate_run(qrels: Qrels, run: Run) -> dict[str, float]:
    """Means over the queries with at least one relevant document; a judged query missing
    from the run counts as zero (trec_eval would silently skip it and flatter the run)."""
    judged = [q for q, docs in qrels.items() if any(g > 0 for g in docs.values())]
    if not judged:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    rows = [(run.get(q, ()), qrels[q]) for q in judged]
    n = len(rows)
    return {
        "ndcg@10": sum(ndcg(r, j, 10) for r, j in rows) / n,
        "recall@10": sum(recall(r, j, 10) for r, j in rows) / n,
        "recall@100": sum(recall(r, j, 100) for r, j in rows) / n,
        "mrr@10": sum(reciprocal_rank(r, j, 10) for r, j in rows) / n,
    }
