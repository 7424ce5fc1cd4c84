"""Schemathesis against the live OpenAPI schema of a real server over HTTP: for every
operation a bounded, derandomized set of valid cases (half of them aimed at a seeded
collection, so they reach real data) and of invalid cases. No response may be a 5xx, and
every response must match what the schema documents (status, content type, body)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import psycopg
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.servers import ServerThread

VALID_EXAMPLES = 6  # per operation, and as many again aimed at the seeded collection
INVALID_EXAMPLES = 6

# Valid by the schema is not always valid: chunk_overlap below chunk_size, a query or a
# vector, are rules JSON Schema cannot state, so a 422 for them is right.
NOT_CHECKED = [positive_data_acceptance]


def _collections(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM collections")}


def _aim(case: schemathesis.Case, collection: str) -> None:
    """Point a valid case at the seeded collection (never delete it, though)."""
    deletes_it = case.method == "DELETE" and case.operation.path == "/v1/collections/{collection}"
    if "collection" in (case.path_parameters or {}) and not deletes_it:
        case.path_parameters["collection"] = collection
    if isinstance(case.body, dict):
        for key in ("collection", "model"):
            if isinstance(case.body.get(key), str):
                case.body[key] = collection


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    aim: str | None,
    http: requests.Session,
    tally: Counter[tuple[str, str]],
    failures: list[str],
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        if aim is not None:
            _aim(case, aim)
        tally[(label, "run")] += 1
        try:
            case.call_and_validate(session=http, timeout=60, excluded_checks=list(NOT_CHECKED))
        except (AssertionError, BaseExceptionGroup) as exc:  # failed checks: keep fuzzing
            failures.append(f"{label} ({mode.value}): {str(exc)[:1500]}")
        else:
            tally[(label, "passed")] += 1

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, label  # no parameters, so nothing invalid


def test_every_route_survives_fuzzing(server: ServerThread, seeded: str, pg_dsn: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    schema.config.base_url = server.url
    existing = _collections(pg_dsn)
    tally: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []
    labels = []
    with requests.Session() as http:
        try:
            for result in schema.get_all_operations():
                operation = result.ok()  # type: ignore[union-attr]  # Err raises here
                labels.append(f"{operation.method.upper()} {operation.path}")
                for mode, examples, aim in (
                    (GenerationMode.POSITIVE, VALID_EXAMPLES, None),
                    (GenerationMode.POSITIVE, VALID_EXAMPLES, seeded),
                    (GenerationMode.NEGATIVE, INVALID_EXAMPLES, None),
                ):
                    _fuzz_operation(operation, mode, examples, aim, http, tally, failures)
        finally:
            with httpx.Client(base_url=server.url) as cleanup:
                for name in _collections(pg_dsn) - existing:
                    cleanup.delete(f"/v1/collections/{name}")
    total = sum(tally[(label, "run")] for label in labels)
    print(f"\nfuzz cases per route (run/passed), {total} in all:")
    for label in labels:
        print(f"  {label}: {tally[(label, 'run')]}/{tally[(label, 'passed')]}")
    assert labels, "the schema lists no operations"
    assert all(tally[(label, "run")] > 0 for label in labels)
    assert not failures, "\n\n".join(failures[:10])
