"""Read a BEIR-layout folder: `queries.jsonl`, `qrels/test.tsv` (header line optional)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidInput
from app.search.metrics import Qrels
from app.validation import parse_json


@dataclass(frozen=True)
class Dataset:
    queries: dict[str, str]  # query id -> text
    qrels: Qrels

    @property
    def judged(self) -> list[str]:
        """Query ids that have both a text and judgements, in qrels order."""
        return [q for q in self.qrels if q in self.queries]


def load_dataset(folder: Path, split: str = "test") -> Dataset:
    queries_path = folder / "queries.jsonl"
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for path in (queries_path, qrels_path):
        if not path.is_file():
            raise InvalidInput(f"{path}: not found (expected a BEIR folder)")
    return Dataset(_queries(queries_path), _qrels(qrels_path))


def _queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = parse_json(line, f"{path}:{number}")  # no lone surrogate
                queries[str(row["_id"])] = str(row["text"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInput(f"{path}:{number}: expected {{'_id', 'text'}}") from exc
    return queries


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            fields = line.rstrip("\n").split("\t")
            if not line.strip():
                continue
            if len(fields) != 3:
                raise InvalidInput(f"{path}:{number}: expected query-id, corpus-id, score")
            try:
                score = int(fields[2])
            except ValueError as exc:
                if number == 1:  # the usual BEIR header: query-id corpus-id score
                    continue
                raise InvalidInput(f"{path}:{number}: score {fields[2]!r} is no integer") from exc
            qrels.setdefault(fields[0], {})[fields[1]] = score
    return qrels
