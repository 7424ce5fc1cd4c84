"""Each format's loader on real bytes, and each bad input's reason."""

from __future__ import annotations

import json

import pytest

from app.errors import InvalidInput
from ingest.files import FileEntry, estimate_documents, load_named
from ingest.loaders import load_file, load_jsonl
from tests.ingest.pdfs import make_pdf


def test_html_keeps_title_and_headings_and_drops_scripts() -> None:
    html = b"""<html><head><title>The Title</title><style>p{color:red}</style></head>
    <body><script>var secret = 1;</script><h1>Top</h1><p>First <b>para</b>.</p>
    <h2>Sub</h2><ul><li>item one</li><li>item two</li></ul><noscript>x</noscript></body></html>"""
    doc = load_file("page.html", html)
    assert doc.title == "The Title"
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("Top", "First para."),  # inline markup adds no space, as a browser shows it
        ("Top > Sub", "- item one\n\n- item two"),
    ]
    assert "secret" not in str(doc.blocks) and "color" not in str(doc.blocks)


def test_pdf_keeps_page_numbers() -> None:
    doc = load_file("a.pdf", make_pdf(["Hello page one", None, "Third page text"]))
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "Hello page one"), (3, "Third page text")]


def test_beir_jsonl_gives_one_document_per_line_and_reports_bad_lines() -> None:
    lines = [
        {"_id": "d1", "title": "T", "text": "one", "metadata": {"y": 1}},
        {"_id": 2, "text": "two"},
        {"_id": "d3", "text": ""},
    ]
    data = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    docs, errors = load_jsonl("c.jsonl", data.encode())
    assert [(d.external_id, d.title, d.metadata, d.source) for d in docs] == [
        ("d1", "T", {"y": 1}, "c.jsonl"),
        ("2", "", {}, "c.jsonl"),
    ]
    assert errors == ["line 3: missing or empty 'text'", "line 4: not JSON (Expecting value)"]


def test_unicode_line_separators_inside_documents_do_not_split_them() -> None:
    docs, errors = load_jsonl("c.jsonl", json.dumps({"_id": "x", "text": "a\u2028b\x85c"}).encode())
    assert errors == [] and docs[0].blocks[0].text == "a\u2028b\x85c"
    doc = load_file("m.md", "# T\n\nline\u2028more\n\n## S\n\nbody\n".encode())
    assert [(b.section, b.text) for b in doc.blocks] == [("T", "line\u2028more"), ("T > S", "body")]


def test_unknown_extension_reads_as_text() -> None:
    [doc], _ = load_named("notes/LICENSE", b"Apache License")
    assert (doc.external_id, doc.format, doc.blocks[0].text) == (
        "notes/LICENSE",
        "text",
        "Apache License",
    )


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.md", b"  \n", "file is empty"),
        ("nul.txt", b"abc\x00def", "contains NUL bytes"),
        ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
        ("scan.pdf", make_pdf([None, None]), "no text layer"),
        ("broken.pdf", b"%PDF-1.4 garbage", "unreadable PDF"),
        ("only-headings.md", b"# A\n## B\n", "no text in file"),
        ("bad.jsonl", b'{"text": "no id"}\n', "missing '_id'"),
    ],
)
def test_bad_files_say_why(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        load_named(name, data)


def test_discover_filters_by_glob_caps_size_and_keeps_named_files(tmp_path) -> None:
    from ingest.files import discover
    from tests.ingest.conftest import write

    root = write(
        tmp_path / "kb",
        {"a.md": "a", "deep/b.md": "b", "c.txt": "c", "big.md": "x" * 2000, ".h.md": "h"},
    )
    found = discover([root], glob="*.md", max_bytes=1000)
    assert [f.name for f in found.files] == ["kb/a.md", "kb/deep/b.md"]
    assert [(f.path, f.error.split(",")[0]) for f in found.failures] == [
        ("kb/big.md", "file is 0.0 MiB")
    ]
    assert [s.path for s in found.skipped] == ["kb/.h.md"]
    assert found.scopes == ["kb/"]
    named = discover([root / ".h.md"], glob=None, max_bytes=1000)
    assert [f.name for f in named.files] == [".h.md"] and named.scopes == [".h.md"]


def test_model_limit_only_from_embedders_that_count_their_tokens() -> None:
    import numpy as np

    from app.embeddings.base import Embedder
    from ingest.service import model_limit

    class Counting(Embedder):
        provider, model, dimensions, max_input_tokens = "t", "m", 2, 256

        def __init__(self, counts: bool) -> None:
            self.counts = counts

        async def embed_documents(self, texts, on_progress=None):  # noqa: ARG002
            return np.zeros((len(texts), 2), np.float32)

        def token_counter(self):
            return (lambda text: len(text.split()) + 2) if self.counts else None

    limit = model_limit(Counting(counts=True), 200)
    assert limit is not None and limit[1] == 256 and limit[0]("a b") == 4
    assert model_limit(Counting(counts=False), 200) is None
    # Counting the chunker's own tokens: only a chunk size near the limit needs the check.
    same = Counting(counts=True)
    same.counts_cl100k = True
    assert model_limit(same, 128) is None
    assert model_limit(same, 129) is not None


_LINES = [json.dumps({"_id": i, "text": i}) for i in "abc"]


@pytest.mark.parametrize(
    "content",
    [
        "\n".join(_LINES) + "\n",
        "\n".join(_LINES),
        "\n" + "\n\n".join(_LINES[:2]) + "\n  \n" + _LINES[2] + "\n\n",
    ],
    ids=["newline at the end", "no newline at the end", "blank lines"],
)
def test_document_estimate_matches_what_the_loader_gives(tmp_path, content: str) -> None:
    """The progress bar's total: as many documents as the loaders will yield."""
    (tmp_path / "corpus.jsonl").write_text(content)
    (tmp_path / "notes.md").write_text("# Notes\n\ntext")
    entries = [FileEntry(tmp_path / n, n) for n in ("corpus.jsonl", "notes.md")]
    loaded, failures = load_jsonl("corpus.jsonl", content.encode())
    assert not failures and len(loaded) == 3
    assert estimate_documents(entries) == len(loaded) + 1
