"""`pgask search` and `pgask eval` as real processes against the test database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.config import Settings
from app.db.models import Collection
from app.embeddings import Embedder
from tests.cli import env_without_pgask_settings
from tests.cli import pgask_in_process as pgask  # what the command does, not its process
from tests.search.conftest import document, load

pytestmark = pytest.mark.anyio

PASSAGES = {
    "p1": "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "p2": "Mount Everest is Earth's highest mountain above sea level, in the Himalayas.",
    "p3": "The Great Barrier Reef is the world's largest coral reef system, off Australia.",
    "p4": "Photosynthesis converts light energy into chemical energy in plants.",
}


@pytest.fixture
async def passages(conn, collection: Collection, embedder: Embedder) -> Collection:
    docs = []
    for pid, text in PASSAGES.items():
        vectors = await embedder.embed_documents([text])
        docs.append(document(pid, [text], vectors, metadata={"n": int(pid[1:])}))
    await load(conn, collection, docs)
    return collection


def _pgask(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    return pgask(args, env_without_pgask_settings(DATABASE_URL=settings.database_url or ""))


async def test_search_table_and_json(passages: Collection, settings: Settings) -> None:
    shown = _pgask(
        ["search", "tallest mountain", "--collection", passages.name, "-k", "2"], settings
    )
    assert shown.returncode == 0, shown.stderr
    assert "Everest" in shown.stdout and "2 hits (hybrid)" in shown.stdout
    args = [
        "search",
        "tower",
        "--collection",
        passages.name,
        "--mode",
        "text",
        "--json",
        "--filter",
        '{"n": {"$lt": 3}}',
    ]
    printed = _pgask(args, settings)
    assert printed.returncode == 0, printed.stderr
    body = json.loads(printed.stdout)
    assert [h["external_id"] for h in body["hits"]] == ["p1"]
    bad = _pgask(
        ["search", "x", "--collection", passages.name, "--filter", '{"n": {"$x": 1}}'], settings
    )
    assert bad.returncode == 1
    assert (
        bad.stderr.strip() == "pgask: error: filter.n.$x: unknown operator '$x'; use one of "
        "['$eq', '$exists', '$gt', '$gte', '$in', '$lt', '$lte', '$ne', '$nin']"
    )


async def test_eval_on_a_beir_folder(
    passages: Collection, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "qrels").mkdir()
    queries = {"q1": "highest mountain on Earth", "q2": "coral reef", "q3": "plants and light"}
    (tmp_path / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items())
    )
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\tp2\t1\nq2\tp3\t2\nq3\tp4\t1\n"
    )
    result = _pgask(["eval", str(tmp_path), "--collection", passages.name, "--json"], settings)
    assert result.returncode == 0, result.stderr
    modes = json.loads(result.stdout)["modes"]
    assert set(modes) == {"vector", "text", "hybrid"}
    assert modes["vector"] == {"ndcg@10": 1.0, "recall@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}
    table = _pgask(["eval", str(tmp_path), "-c", passages.name, "--mode", "vector"], settings)
    assert table.returncode == 0, table.stderr
    assert "ndcg@10" in table.stdout and "3 judged queries evaluated" in table.stdout


async def test_search_caps_hits_per_document(
    conn, collection: Collection, settings: Settings, embedder: Embedder
) -> None:
    texts = [f"Mountain climbing guide, part {n}: ropes and ice axes." for n in range(4)]
    docs = [
        document("guide", texts, await embedder.embed_documents(texts)),
        document(
            "note", ["A mountain note."], await embedder.embed_documents(["A mountain note."])
        ),
    ]
    await load(conn, collection, docs)
    base = ["search", "mountain", "--collection", collection.name, "--mode", "text", "--json"]

    def ids(*extra: str) -> list[str]:
        shown = _pgask([*base, *extra], settings)
        assert shown.returncode == 0, shown.stderr
        return [h["external_id"] for h in json.loads(shown.stdout)["hits"]]

    assert ids().count("guide") == 4
    assert sorted(ids("--max-per-document", "1")) == ["guide", "note"]
    assert ids("--max-per-document", "2").count("guide") == 2
