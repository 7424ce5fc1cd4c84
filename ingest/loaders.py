"""Turn one file's bytes into documents made of text blocks that keep their structure.

Parsing is left to well-kept libraries: markdown-it-py (headings become the section path),
BeautifulSoup (HTML: title and headings kept, scripts and styles dropped), pypdf (one block
per page, so chunks keep their page number). JSON Lines in the BEIR corpus layout give one
document per line. Every problem is an `InvalidInput` naming the reason, so callers can
report it per file and go on.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from app.errors import InvalidInput
from app.validation import SUMMARY, parse_json
from ingest import formats

if TYPE_CHECKING:
    from ingest.html_text import LinkCounts


@dataclass(frozen=True)
class Block:
    """A run of text under one heading path (`section`) and, for PDFs, one page."""

    text: str
    section: str = ""
    page: int | None = None


@dataclass(frozen=True)
class LoadedDocument:
    external_id: str
    blocks: list[Block]
    title: str = ""
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    format: str = "text"
    access: tuple[str, ...] = ()  # groups that may read it; empty: everyone (sorted, unique)


SECTION_SEPARATOR = " > "


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) text without NUL characters, which PostgreSQL rejects."""
    if not data.strip():
        raise InvalidInput("file is empty")
    if b"\x00" in data:
        raise InvalidInput("contains NUL bytes (binary file, or UTF-16 text)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"not valid UTF-8 text (byte {exc.start})") from exc


# The prescan window the HTML standard gives a `<meta charset>` (WHATWG encoding sniffing).
_META_PRESCAN_BYTES = 1024


def decode_html(data: bytes) -> str:
    """HTML as text: UTF-8 when it is (a BOM, or bytes that decode), else the charset its
    `<meta>` declares in the first 1,024 bytes, else windows-1252, as browsers read a page
    that declares none. Old manuals are often ISO-8859-1 with only a `<meta>` saying so."""
    try:
        return decode_text(data)
    except InvalidInput as exc:
        if b"\x00" in data or not data.strip():
            raise
        original = exc
    from bs4.dammit import EncodingDetector

    declared = EncodingDetector.find_declared_encoding(data[:_META_PRESCAN_BYTES], is_html=True)
    if not declared or declared.startswith(("utf-16", "utf-32")):
        declared = "windows-1252"  # a UTF-16 page has NULs: its <meta> is wrong, as browsers say
    try:
        return data.decode(declared)
    except (LookupError, UnicodeDecodeError):
        raise InvalidInput(
            f"{original}; its declared charset {declared!r} does not read it"
        ) from None


def _markdown(text: str) -> tuple[str, list[Block]]:
    from ingest.markdown_text import markdown_sections

    blocks: list[Block] = []
    title = ""
    for section in markdown_sections(text):
        title = title or next((h for lvl, h in section.path if lvl == 1), "")
        _append(blocks, "\n\n".join(section.parts), section.path)
    return title, blocks


def _append(blocks: list[Block], text: str, path: list[tuple[int, str]]) -> None:
    if text.strip():
        blocks.append(Block(text.strip(), SECTION_SEPARATOR.join(h for _, h in path)))


def _html_bytes(data: bytes) -> bytes:
    """A browser ignores a NUL in HTML text (Javadoc's index quotes the NUL constant as
    one); many of them are binary or UTF-16 bytes, which `decode_text` refuses."""
    return data.replace(b"\x00", b"") if data.count(b"\x00") * 100 < len(data) else data


def _html(text: str) -> tuple[str, list[Block], LinkCounts, str]:
    from ingest.html_text import html_page

    page = html_page(text)
    blocks: list[Block] = []
    for path, parts in page.sections:
        _append(blocks, "\n\n".join(parts), path)
    return page.title, blocks, page.links, page.summary


# A word broken at a line end ("contain-\ning"): joined when the next line goes on in
# lower case, so "Jean-\nPaul" keeps its hyphen.
_HYPHENATED = re.compile(r"(?<=\w)-[ \t]*\n[ \t]*(?=[a-z])")


def _pdf_text(text: str) -> str:
    return _HYPHENATED.sub("", text.replace("\x00", "")).strip()


def _pdf(data: bytes) -> tuple[str, list[Block]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(n, page.extract_text() or "") for n, page in enumerate(reader.pages, 1)]
        # The PDF's own title when it has one; the caller falls back to the file name.
        title = str(reader.metadata.get("/Title") or "").strip() if reader.metadata else ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"unreadable PDF: {exc}") from exc
    blocks = [Block(_pdf_text(t), "", n) for n, t in pages if t.strip()]
    if not blocks:
        raise InvalidInput("PDF has no text layer (scanned?); OCR it first")
    return title, blocks


def _formatted(kind: str, data: bytes) -> tuple[str, list[Block], dict[str, Any]]:
    """A format of ingest/formats/: its blocks, and its metadata with notes on what was
    skipped (pictures, attachments) under "notes"."""
    parsed = formats.read(kind, data, decode_text)
    blocks = [Block(s.text, SECTION_SEPARATOR.join(s.path), s.page) for s in parsed.sections]
    notes = {"notes": parsed.notes} if parsed.notes else {}
    return parsed.title, blocks, {**parsed.metadata, **notes}


def _beir_line(line: str, number: int, source: str) -> LoadedDocument:
    where = f"line {number}"
    try:
        record = parse_json(line, where)  # no lone surrogate, no overflowing nesting
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise InvalidInput(f"{where}: expected a JSON object")
    doc_id, text = record.get("_id"), record.get("text")
    if not isinstance(doc_id, str | int) or str(doc_id) == "":
        raise InvalidInput(f"{where}: missing '_id'")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{where}: missing or empty 'text'")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidInput(f"{where}: 'metadata' must be an object")
    title = record.get("title") or ""
    return LoadedDocument(
        str(doc_id),
        [Block(text.strip())],
        title=str(title),
        source=source,
        metadata=metadata,
        format="beir",
    )


def load_jsonl(name: str, data: bytes) -> tuple[list[LoadedDocument], list[str]]:
    """Documents of a BEIR corpus file, and one error per bad line (the rest still load)."""
    documents, errors = jsonl_documents(name, decode_text(data))
    if not documents:
        raise InvalidInput(errors[0] if errors else "no documents in file")
    return documents, errors


def jsonl_documents(
    name: str, text: str, first_line: int = 1
) -> tuple[list[LoadedDocument], list[str]]:
    """The documents of JSON Lines `text` (lines numbered from `first_line`: a part of a
    larger file), and one error per bad line."""
    documents: list[LoadedDocument] = []
    errors: list[str] = []
    # JSON Lines are separated by "\n" only: U+2028 and friends may occur inside strings.
    for number, line in enumerate(text.split("\n"), first_line):
        if line.strip():
            try:
                documents.append(_beir_line(line, number, name))
            except InvalidInput as exc:
                errors.append(exc.detail)
    return documents, errors


_FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".jsonl": "beir",
    **formats.SUFFIXES,  # Office, EPUB, RST, CSV/TSV, EML: ingest/formats/
}


def _text(text: str) -> tuple[str, list[Block]]:
    return "", [Block(text.strip())] if text.strip() else []


_TEXT_PARSERS: dict[str, Callable[[str], tuple[str, list[Block]]]] = {
    "markdown": _markdown,
    "text": _text,
}


def file_format(name: str) -> str | None:
    """The format pgask reads a file name as, or None for a file type it does not read."""
    return _FORMATS.get(PurePosixPath(name).suffix.lower())


def load_file(name: str, data: bytes, kind: str | None = None) -> LoadedDocument:
    """One document from a Markdown, text, HTML or PDF file; `name` is its external id.
    `kind` overrides the format the name's extension implies."""
    kind = kind or file_format(name)
    if kind is None or kind == "beir":
        raise InvalidInput(f"{name}: not a single-document format")
    from ingest.html_text import page_kind

    links, extra, summary = None, dict[str, Any](), ""
    if kind in formats.SUFFIXES.values():
        title, blocks, extra = _formatted(kind, data)
    elif kind == "pdf":
        if not data.strip():
            raise InvalidInput("file is empty")
        title, blocks = _pdf(data)
    elif kind == "html":
        title, blocks, links, summary = _html(decode_html(_html_bytes(data)))
    else:
        title, blocks = _TEXT_PARSERS[kind](decode_text(data))
    if not blocks:
        raise InvalidInput("no text in file")
    title = title or PurePosixPath(name).stem
    metadata: dict[str, Any] = {**extra, "path": name, "format": kind}
    if document_kind := page_kind(title, name, links):
        metadata["doc_kind"] = document_kind
    if summary:
        metadata[SUMMARY] = summary
    return LoadedDocument(name, blocks, title=title, source=name, metadata=metadata, format=kind)
