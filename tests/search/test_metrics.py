"""Our ranking metrics agree with trec_eval (pytrec_eval), and BEIR folders load with or
without the qrels header line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytrec_eval

from app.errors import InvalidInput
from app.search.beir import load_dataset
from app.search.metrics import evaluate_run, ndcg, recall, reciprocal_rank


def _random_case(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(300)]
    qrels, run = {}, {}
    for q in range(20):
        judged = rng.choice(docs, size=int(rng.integers(1, 60)), replace=False)
        qrels[f"q{q}"] = {d: int(rng.integers(0, 4)) for d in judged}
        run[f"q{q}"] = list(rng.choice(docs, size=int(rng.integers(0, 150)), replace=False))
    return qrels, run


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_trec_eval(seed: int) -> None:
    qrels, run = _random_case(seed)
    # trec_eval ranks by score; give strictly decreasing scores so no tie-breaking applies.
    scored = {q: {d: 1.0 / (i + 1) for i, d in enumerate(r)} for q, r in run.items()}
    cut10 = {q: {d: 1.0 / (i + 1) for i, d in enumerate(r[:10])} for q, r in run.items()}
    measures = {"ndcg_cut.10", "recall.10", "recall.100"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(scored)
    reference_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut10)
    for q, ranking in run.items():
        if q not in reference:  # trec_eval skips queries without results
            continue
        judged = qrels[q]
        assert ndcg(ranking, judged, 10) == pytest.approx(reference[q]["ndcg_cut_10"])
        assert recall(ranking, judged, 10) == pytest.approx(reference[q]["recall_10"])
        assert recall(ranking, judged, 100) == pytest.approx(reference[q]["recall_100"])
        if q in reference_rr:
            rr = reference_rr[q]["recip_rank"]
            assert reciprocal_rank(ranking, judged, 10) == pytest.approx(rr)


def test_judged_query_missing_from_run_counts_as_zero() -> None:
    qrels = {"q1": {"a": 2}, "q2": {"b": 1}, "q3": {"c": 0}}
    scores = evaluate_run(qrels, {"q1": ["a"]})
    assert scores["ndcg@10"] == pytest.approx(0.5)  # q1 = 1, q2 = 0; q3 has nothing relevant
    assert scores["mrr@10"] == pytest.approx(0.5)


def test_mrr_hand_computed() -> None:
    qrels = {
        "q1": {"a": 2, "b": 1},  # first relevant at rank 3: 1/3
        "q2": {"c": 1},  # at rank 11, past the cut-off: 0
        "q3": {"d": 3},  # rank 1: 1
        "q4": {"e": 1},  # judged, not in the run: 0
        "q5": {"f": 0},  # nothing relevant: not averaged
    }
    run = {"q1": ["x", "y", "a", "b"], "q2": [f"n{i}" for i in range(10)] + ["c"], "q3": ["d"]}
    assert evaluate_run(qrels, run)["mrr@10"] == pytest.approx((1 / 3 + 0 + 1 + 0) / 4)


def test_mrr_saturates_when_many_passages_are_relevant() -> None:
    """Why msmarco-5k reports MRR@10 = 1.000 for every good run: its qrels judge 95
    passages per query on average (grades 1-3, and the 5,000-passage corpus is the 4,102
    judged ones plus 898 others), so the first hit is nearly always one of them, while
    nDCG@10, which weighs the grades, still tells runs apart."""
    judged = {"a": 1, "b": 1, "c": 3}
    assert reciprocal_rank(["a", "x", "b"], judged, 10) == 1.0
    # DCG 1 + 1/log2(4) over the ideal 3 + 1/log2(3) + 1/log2(4), by hand: 0.3631
    assert ndcg(["a", "x", "b"], judged, 10) == pytest.approx(1.5 / 4.1309, abs=1e-4)


@pytest.mark.parametrize("header", [True, False])
def test_beir_folder_with_and_without_header(tmp_path: Path, header: bool) -> None:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text(
        '{"_id": "1", "text": "first"}\n\n{"_id": 2, "text": "second"}\n', encoding="utf-8"
    )
    lines = ["query-id\tcorpus-id\tscore"] if header else []
    lines += ["1\tdoc-a\t2", "1\tdoc-b\t0", "3\tdoc-c\t1"]
    (tmp_path / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = load_dataset(tmp_path)
    assert dataset.queries == {"1": "first", "2": "second"}
    assert dataset.qrels == {"1": {"doc-a": 2, "doc-b": 0}, "3": {"doc-c": 1}}
    assert dataset.judged == ["1"]


def test_beir_errors_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"queries\.jsonl: not found"):
        load_dataset(tmp_path)
    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "x"}\n', encoding="utf-8")
    (tmp_path / "qrels" / "test.tsv").write_text("1\ta\t1\n1\tb\tmany\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"test\.tsv:2: score 'many'"):
        load_dataset(tmp_path)
