"""Files and JSON Lines meet the rules the JSON API applies (app/validation.py): a lone
surrogate, metadata too deep or too large is an error for its line or file (through an
upload's job and through `pgask ingest`), the good lines are stored, and the CLI refuses
arguments and --filter JSON that are not text in one line."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.validation import MAX_JSON_DEPTH, MAX_METADATA_BYTES, MAX_METADATA_DEPTH
from tests.cli import PGASK, ROOT
from tests.ingest.conftest import docs_path, write
from tests.ingest.test_api import _wait_for_job


def _deep(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def corpus() -> bytes:
    """Seven lines: two good, five each refused for one reason."""
    lines = [
        '{"_id": "good1", "text": "a good passage"}',
        '{"_id": "lone-text", "text": "bad \\ud800 text"}',
        '{"_id": "lone-meta", "text": "t", "metadata": {"k": ["\\udfff"]}}',
        f'{{"_id": "deep40", "text": "t", "metadata": {_deep(MAX_METADATA_DEPTH + 8)}}}',
        f'{{"_id": "deep100k", "text": "t", "metadata": {_deep(100_000)}}}',
        json.dumps({"_id": "big", "text": "t", "metadata": {"n": "x" * MAX_METADATA_BYTES}}),
        '{"_id": "good2", "text": "another good passage"}',
    ]
    return "\n".join(lines).encode()


REFUSED = {  # what names the line or document in its error: why it was refused
    "line 2": "line 2.text: contains a lone surrogate (U+D800",
    "line 3": "line 3.metadata.k.0: contains a lone surrogate (U+DFFF",
    "deep40": f"metadata nests deeper than {MAX_METADATA_DEPTH} levels",
    "line 5": f"line 5 nests deeper than {MAX_JSON_DEPTH} levels",  # not even parsed
    "big": "at most 64 KiB",
}


def _check_errors(errors: list[dict[str, str]]) -> None:
    assert len(errors) == len(REFUSED), errors
    for name, reason in REFUSED.items():
        [error] = [e for e in errors if f"{name}" in e["path"] + e["error"]]
        assert reason in error["error"], (name, error)


@pytest.fixture
def http(ingest_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_server.url, timeout=120) as client:
        yield client


def test_an_uploaded_corpus_refuses_bad_lines_and_stores_the_rest(
    http: httpx.Client, coll: str
) -> None:
    files = [("files", ("corpus.jsonl", corpus(), "application/jsonl"))]
    response = http.post(f"/v1/collections/{coll}/files", files=files)
    assert response.status_code == 202, response.text
    job = _wait_for_job(http, response.headers["location"])
    _check_errors(job["errors"])
    assert job["result"]["added"] == 2
    for good in ("good1", "good2"):
        assert http.get(f"{docs_path(coll)}/{good}").status_code == 200


def _multipart(access: bytes, filename: bytes) -> bytes:
    """A form whose field and file name are these bytes (no client encodes such bytes)."""
    return (
        b'--B\r\nContent-Disposition: form-data; name="access"\r\n\r\n'
        + access
        + b'\r\n--B\r\nContent-Disposition: form-data; name="files"; filename="'
        + filename
        + b'"\r\nContent-Type: text/markdown\r\n\r\n# A\n\ntext\r\n--B--\r\n'
    )


def test_upload_form_fields_that_are_not_utf8_store_no_surrogate(
    http: httpx.Client, coll: str
) -> None:
    """A multipart field carries bytes; Starlette reads what is not UTF-8 as Latin-1, so
    a UTF-8-encoded surrogate arrives as three characters, never as a surrogate."""
    headers = {"content-type": "multipart/form-data; boundary=B"}
    for access, filename in ((b"g\xed\xa0\x80", b"a.md"), (b"g", b"a\xed\xa0\x80.md")):
        response = http.post(
            f"/v1/collections/{coll}/files", content=_multipart(access, filename), headers=headers
        )
        assert response.status_code == 202, response.text
        job = _wait_for_job(http, response.headers["location"])
        if filename == b"a.md":  # the group "g\xed\xa0\x80" (as Latin-1) is a fine group
            assert job["status"] == "succeeded", job["errors"]
        else:  # U+0080 is a C1 control character: no id may hold one
            [error] = job["errors"]
            assert "control or bidirectional-override characters" in error["error"], error


def _run(args: list[str | bytes], db_url: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGASK_")}
    return subprocess.run(
        [*PGASK, *args],
        env={**env, "DATABASE_URL": db_url},
        cwd=ROOT,
        capture_output=True,
        timeout=240,
        check=False,
    )


def test_pgask_ingest_refuses_the_same_lines(
    tmp_path: Path, db_url: str, collection_name: str
) -> None:
    path = write(tmp_path, {"corpus.jsonl": corpus()}) / "corpus.jsonl"
    done = _run(["ingest", str(path), "--collection", collection_name, "--json"], db_url)
    assert done.returncode == 1, done.stderr  # some lines failed
    summary = json.loads(done.stdout)
    assert summary["added"] == 2
    _check_errors(summary["errors"])


def _one_line_error(done: subprocess.CompletedProcess[bytes], *expected: str) -> None:
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert stderr.startswith("pgask: error: ") and stderr.count("\n") == 1, stderr
    for part in expected:
        assert part in stderr, stderr


def test_cli_arguments_and_filters_that_are_not_text_are_one_line(
    db_url: str, collection_name: str
) -> None:
    # bytes that are not UTF-8 reach Python as lone surrogates (U+DCFF)
    query = _run(["search", b"caf\xff", "--collection", collection_name], db_url)
    _one_line_error(query, "argument 2", "not UTF-8 text", "U+DCFF")
    group = _run(["keys", "create", "k", "--role", "read", "--group", b"g\xed\xa0\x80"], db_url)
    _one_line_error(group, "argument 7", "not UTF-8 text")
    spec = '{"lang": "en\\ud800"}'  # valid UTF-8: the JSON escapes the surrogate
    filtered = _run(["search", "q", "--collection", collection_name, "--filter", spec], db_url)
    _one_line_error(filtered, "filter.lang", "lone surrogate")
