"""The core job on real manuals (not run by CI): for each set of judged questions, the right
page first, in the top 3, and whether the extractive answer (LLM_PROVIDER=none) carries the
command or term a useful answer must carry, per search mode. Also what the stored chunks
hold: code blocks, tables, and the navigation bars of the generators. Writes
bench/results/realdocs.json.

Sets (each: a folder to ingest as `pgask ingest` would, and a questions file whose lines
are {"question", "expected": [document ids], "terms": [strings]}):

- fastapi: FastAPI's Markdown docs (MkDocs), ../shared/data/fastapi-docs/docs,
  bench/fastapi_questions.jsonl (30 questions).
- python: Python 3.11's HTML docs (Sphinx), Debian's python3-doc package
  (`apt-get install python3-doc`: /usr/share/doc/python3.11/html),
  bench/python_questions.jsonl (25 questions).
- postgres: PostgreSQL 15's HTML manual (DocBook), Debian's postgresql-doc-15 package
  (`apt-get install postgresql-doc-15`: /usr/share/doc/postgresql-doc-15/html),
  bench/postgres_questions.jsonl (27 questions).
- git: git 2.39's manual (AsciiDoc HTML: man pages, the user manual, tutorials, how-tos),
  Debian's git-doc package (`apt-get install git-doc`: /usr/share/doc/git-doc, its
  `*.html` only, as `pgask ingest --glob '*.html'`: the folder also holds each page's
  AsciiDoc source as `.txt`), bench/git_questions.jsonl (25 questions).
- m4: GNU M4 1.4.19's manual (Texinfo HTML, makeinfo 6.8: one page per node), Debian's
  m4-doc package (`apt-get install m4-doc`: /usr/share/doc/m4, its `*.html` only),
  bench/m4_questions.jsonl (25 questions).
- sqlite: SQLite 3.40.1's documentation (HTML from SQLite's own Tcl scripts, no common
  generator: a site header and menu on every page), Debian's sqlite3-doc package
  (`apt-get install sqlite3-doc`: /usr/share/doc/sqlite3, its `*.html` only: the language,
  pragmas, the C interface's pages under c3ref/, release logs), bench/sqlite_questions.jsonl
  (30 questions, written and checked against the pages before the set was first ingested).

A set whose folder is missing is reported as skipped. Collections are ingested first
(unchanged files are skipped, so a second run costs only the questions).

    python bench/realdocs.py [--sets fastapi python postgres git m4 sqlite] [--data-dir DIR]
        [--output FILE] [--fusions]

`--fusions` also ranks every question with hybrid fusion variants (min-max score fusion at
several weights and depths, RRF), right page first and top 3 only (the issue asks that
fusion be measured on real documents, not only on msmarco).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access import UNRESTRICTED
from app.config import load_settings
from app.db import migrate
from app.rag.service import Answerer, AskRequest
from app.search.service import HybridOptions, Mode, SearchRequest, run_search
from app.services import Services
from bench.common import ROOT, SHARED, machine, package_versions, write_result
from bench.fastapi_hits import ensure_ingested, first_rank

MODES: tuple[Mode, ...] = ("vector", "text", "hybrid")
# Text only a generator's navigation bars hold (DocBook's Prev/Up/Home/Next, Sphinx's
# sidebar and related bar, MkDocs' footer, AsciiDoc's "Last updated" footer, Texinfo's
# "Next: …, Up: …" node bar and its "[Contents][Index]" links, SQLite's site header "Small.
# Fast. Reliable. Choose any three." and its "This page last modified" footer): a chunk
# holding one is furniture left over.
NAVIGATION = re.compile(
    r"\bPrev\s+Up\b|\bUp\s+Home\b|\bPrevious topic\b|\bNext topic\b|\bThis Page\b"
    r"|\bShow Source\b|\bQuick search\b|\bPrevious\s+Next\b|\bLast updated\s+\d"
    r"|\b(?:Next|Previous): [^\n]{1,120}?, (?:Previous|Up): |\[Contents\]\[Index\]"
    r"|\bChoose any three\b|\bThis page last modified\b"
)


@dataclass(frozen=True)
class DocSet:
    name: str
    folder: Path
    questions: Path
    how_to_get: str
    glob: str | None = None  # as `pgask ingest --glob`
    package: str | None = None  # the Debian package that holds the folder


SETS = {
    "fastapi": DocSet(
        "fastapi",
        SHARED / "data" / "fastapi-docs" / "docs",
        ROOT / "bench" / "fastapi_questions.jsonl",
        "../shared/data/fastapi-docs (FastAPI's docs/ folder, MkDocs Markdown)",
    ),
    "python": DocSet(
        "python",
        Path("/usr/share/doc/python3.11/html"),
        ROOT / "bench" / "python_questions.jsonl",
        "apt-get install python3-doc (Debian 12: Python 3.11 docs, Sphinx HTML)",
        package="python3-doc",
    ),
    "postgres": DocSet(
        "postgres",
        Path("/usr/share/doc/postgresql-doc-15/html"),
        ROOT / "bench" / "postgres_questions.jsonl",
        "apt-get install postgresql-doc-15 (Debian 12: PostgreSQL 15 manual, DocBook HTML)",
        package="postgresql-doc-15",
    ),
    "git": DocSet(
        "git",
        Path("/usr/share/doc/git-doc"),
        ROOT / "bench" / "git_questions.jsonl",
        "apt-get install git-doc (Debian 12: git 2.39 manual, AsciiDoc HTML; *.html only)",
        glob="*.html",
        package="git-doc",
    ),
    "m4": DocSet(
        "m4",
        Path("/usr/share/doc/m4"),
        ROOT / "bench" / "m4_questions.jsonl",
        "apt-get install m4-doc (Debian 12: GNU M4 1.4.19 manual, Texinfo HTML; *.html only)",
        glob="*.html",
        package="m4-doc",
    ),
    "sqlite": DocSet(
        "sqlite",
        Path("/usr/share/doc/sqlite3"),
        ROOT / "bench" / "sqlite_questions.jsonl",
        "apt-get install sqlite3-doc (Debian 12: SQLite 3.40.1's documentation, HTML made by"
        " SQLite's own Tcl scripts: the language, pragmas, the C interface, release logs;"
        " *.html only)",
        glob="*.html",
        package="sqlite3-doc",
    ),
}


# Hybrid fusion variants `--fusions` ranks with: the default first.
FUSIONS = (
    HybridOptions(),
    *(HybridOptions("score", 150, 1 - w, w) for w in (0.1, 0.2, 0.4, 0.5, 0.6)),
    *(HybridOptions("score", d, 0.7, 0.3) for d in (50, 300)),
    HybridOptions("rrf", 100, 1.0, 1.0),
    *(HybridOptions("rrf", 100, 1.0, w) for w in (0.5, 2.0)),
    # document evidence (decision 0044): off, and around the default
    *(HybridOptions(document_weight=w) for w in (0.0, 0.03, 0.07, 0.1)),
    HybridOptions("rrf", 100, 1.0, 1.0, document_weight=0.0),
)


def fusion_label(options: HybridOptions) -> str:
    return (
        f"{options.fusion} depth={options.depth} wv={options.vector_weight:g} "
        f"wt={options.text_weight:g} wd={options.document_weight:g}"
    )


@dataclass(frozen=True)
class Question:
    text: str
    expected: frozenset[str]
    terms: tuple[str, ...]


def load_questions(path: Path) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Question(r["question"], frozenset(r["expected"]), tuple(r["terms"])) for r in rows]


def carries(answer: str, terms: tuple[str, ...]) -> bool:
    """Whether the answer holds one of the terms, as written (commands are case-sensitive)."""
    return any(term in answer for term in terms)


def debian_version(package: str) -> str | None:
    """The installed version of a Debian package (None: not installed, or no dpkg)."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return f"{package} {done.stdout.strip()}" if done.returncode == 0 else None


async def chunk_stats(services: Services, collection: str) -> dict[str, Any]:
    """What the stored chunks hold."""
    async with services.db.owner_session() as session:
        conn = await session.connection()
        result = (
            await conn.exec_driver_sql(
                "SELECT c.text, d.metadata->>'doc_kind' FROM chunks c"
                " JOIN documents d ON d.id = c.document_id"
                " JOIN collections k ON k.id = d.collection_id WHERE k.name = %(name)s",
                {"name": collection},
            )
        ).all()
    rows = [cast(tuple[str, str | None], tuple(row)) for row in result]
    kinds: dict[str, int] = {}
    for _, kind in rows:
        kinds[kind or "page"] = kinds.get(kind or "page", 0) + 1
    return {
        "chunks": len(rows),
        "chunks_by_kind": kinds,
        "with_code_block": sum(1 for text, _ in rows if "```" in text),
        "with_table": sum(1 for text, _ in rows if "| --- |" in text),
        "with_navigation_text": sum(1 for text, _ in rows if NAVIGATION.search(text)),
    }


async def fusion_sweep(
    services: Services, collection: str, questions: list[Question]
) -> dict[str, dict[str, int]]:
    """Right page first and top 3 of hybrid search with each of FUSIONS."""
    out: dict[str, dict[str, int]] = {}
    vectors = [await services.embedder.embed_query(q.text) for q in questions]
    for options in FUSIONS:
        ranks = []
        for question, vector in zip(questions, vectors, strict=True):
            request = SearchRequest(
                "hybrid", k=10, query=question.text, vector=vector, hybrid=options
            )
            async with services.db.session(UNRESTRICTED) as session:
                result = await run_search(session, services.embedder, collection, request)
            ranks.append(first_rank([h.external_id for h in result.hits], question.expected))
        out[fusion_label(options)] = {
            "right_page_first": sum(1 for r in ranks if r == 1),
            "top_3": sum(1 for r in ranks if (r or 99) <= 3),
        }
        print(f"{collection} {fusion_label(options)}: {out[fusion_label(options)]}", flush=True)
    return out


async def run_set(services: Services, doc_set: DocSet, fusions: bool) -> dict[str, Any]:
    collection = f"realdocs-{doc_set.name}"
    ingest = await ensure_ingested(services, collection, doc_set.folder, doc_set.glob)
    questions = load_questions(doc_set.questions)
    answerer = Answerer(
        services.db, services.embedder, None, services.settings.answers, UNRESTRICTED
    )
    per_question: list[dict[str, Any]] = []
    for question in questions:
        row: dict[str, Any] = {"question": question.text}
        vector = await services.embedder.embed_query(question.text)
        for mode in MODES:
            async with services.db.session(UNRESTRICTED) as session:
                request = SearchRequest(mode, k=10, query=question.text, vector=vector)
                result = await run_search(session, services.embedder, collection, request)
            found = [h.external_id for h in result.hits]
            answer = await answerer.answer(AskRequest(collection, question.text, mode=mode))
            row[mode] = {
                "rank": first_rank(found, question.expected),
                "top3": found[:3],
                "carries": carries(answer.answer, question.terms),
                "answer_sources": [s.source for s in answer.sources],
                **({} if carries(answer.answer, question.terms) else {"answer": answer.answer}),
            }
        per_question.append(row)
    summary = {
        mode: {
            "right_page_first": sum(1 for r in per_question if r[mode]["rank"] == 1),
            "top_3": sum(1 for r in per_question if (r[mode]["rank"] or 99) <= 3),
            "answer_carries_term": sum(1 for r in per_question if r[mode]["carries"]),
            "questions": len(per_question),
        }
        for mode in MODES
    }
    for mode, numbers in summary.items():
        print(f"{doc_set.name} {mode}: {json.dumps(numbers)}", flush=True)
    sweep = await fusion_sweep(services, collection, questions) if fusions else None
    return {
        "folder": str(doc_set.folder),
        **({"glob": doc_set.glob} if doc_set.glob else {}),
        "how_to_get": doc_set.how_to_get,
        # a package's point release changes pages, so chunk counts of two runs compare only
        # at the same version
        **({"package": debian_version(doc_set.package)} if doc_set.package else {}),
        "questions_file": str(doc_set.questions.relative_to(ROOT)),
        "ingest": ingest,
        "stored": await chunk_stats(services, collection),
        "summary": summary,
        "per_question": per_question,
        **({"fusions": sweep} if sweep else {}),
    }


async def main(args: argparse.Namespace) -> None:
    settings = load_settings(pgask_data_dir=args.data_dir, _env_file=None)
    services = await Services.start(settings)
    results: dict[str, Any] = {}
    try:
        migrate.upgrade(services.db.url)
        for name in args.sets:
            doc_set = SETS[name]
            if not doc_set.folder.is_dir():
                results[name] = {"skipped": f"{doc_set.folder} missing: {doc_set.how_to_get}"}
                print(f"{name}: skipped ({results[name]['skipped']})")
                continue
            results[name] = await run_set(services, doc_set, args.fusions)
    finally:
        await services.close()
    write_result(
        "realdocs",
        {
            "benchmark": "realdocs",
            "command": "python bench/realdocs.py " + " ".join(args.argv),
            "machine": machine(),
            "versions": package_versions(["pgask", "pgvector", "psycopg", "fastembed"]),
            "parameters": {
                "k_search": 10,
                "answer": "extractive (LLM_PROVIDER=none), /v1/ask defaults (k=8, hybrid "
                "cap per document from settings), per mode",
                "right_page_first": "the first search hit (chunk) is from an expected page",
                "top_3": "an expected page among the first 3 hits",
                "answer_carries_term": "the extractive answer holds one of the question's "
                "terms, as written",
            },
            "sets": results,
        },
        args.output,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--fusions", action="store_true", help="also rank with FUSIONS")
    parsed = parser.parse_args()
    parsed.argv = sys.argv[1:]
    asyncio.run(main(parsed))
