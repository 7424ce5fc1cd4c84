"""Markdown to clean text blocks, one per heading path, with markdown-it-py.

What reaches a chunk is what a reader sees: text without emphasis, link or HTML markup
(`<abbr>`, `<img>`, `<div class="termy">` keep only their text), headings without MkDocs or
Pandoc attributes (`{ #anchor }`), no admonition markers (`/// note`, `!!! tip`, `???`).
Code stays code: a fenced block keeps its fence and its line breaks, inline code its
backticks, so the web page can show it as code and nothing is squashed onto one line.

A long file is parsed in pieces of about `_PIECE_CHARS`, each cut before an ATX heading line
outside a code fence (where CommonMark starts a new block anyway), and its sections come out
one at a time: markdown-it's token list of 1,000,000 headings took 1.4 GB. The one thing a
cut changes: a reference link (`[text][ref]`) whose definition lies in another piece stays
literal text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

# pymdownx blocks: `/// note | Title` ... `///` (more slashes when nested, e.g. `//// tab`).
_BLOCK_MARKER = re.compile(r"^[ \t]*/{3,}[ \t]*(?:[\w-]+)?[ \t]*(?:\|[ \t]*(?P<title>.*?))?[ \t]*$")
# Python-Markdown admonitions: `!!! tip "Title"`, collapsible `??? note` / `???+ note`; their
# body is indented by four spaces, which CommonMark would read as a code block.
_ADMONITION = re.compile(
    r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+"(?P<title>[^"]*)")?[ \t]*$'
)
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)")
# MkDocs snippet includes of files outside the docs folder: `{* ../../docs_src/x.py hl[1] *}`.
_INCLUDE = re.compile(r"^[ \t]*\{\*.*\*\}[ \t]*$")
_TERMINALS = frozenset({"", "console", "shell", "sh", "bash", "text"})
_COLOUR_TAG = re.compile(r"</?(?:font|span|b|u|i|strong)\b", re.IGNORECASE)
# Attribute lists after a heading: `{ #anchor }`, `{#id .class}`, `{: .cls }`.
_ATTRIBUTES = re.compile(r"[ \t]*\{:?[ \t]*[#.][^{}]*\}[ \t]*$")
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_PIECE_CHARS = 2**18


def _lines(text: str) -> Iterator[str]:
    """`text.split("\n")`, one line at a time."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _unwrapped(text: str) -> Iterator[tuple[str, bool]]:
    """The lines, marker lines made their title (or nothing) and an admonition's indented
    body dedented, so it is read as the prose it is; each with whether it is outside a code
    fence. Lines inside code fences stay as they are (a Rust `/// Example` doc comment is
    code)."""
    body_indent: str | None = None
    in_fence = False
    for line in _lines(text):
        if body_indent is not None:
            if line.startswith(body_indent + "    ") or not line.strip():
                line = line[len(body_indent) + 4 :] if line.strip() else ""
            else:
                body_indent = None
        if _FENCE_LINE.match(line):
            in_fence = not in_fence
        elif in_fence:
            pass
        elif (marker := _BLOCK_MARKER.match(line) or _ADMONITION.match(line)) is not None:
            yield marker["title"] or "", True
            yield "", True
            if "indent" in marker.groupdict():
                body_indent = marker["indent"]
            continue
        elif _INCLUDE.match(line):
            continue
        yield line, not in_fence


def _pieces(text: str) -> Iterator[str]:
    """The unwrapped text in pieces of about _PIECE_CHARS, each cut before a heading line."""
    piece: list[str] = []
    size = 0
    for line, outside_fence in _unwrapped(text):
        if size >= _PIECE_CHARS and outside_fence and _ATX_HEADING.match(line):
            yield "\n".join(piece)
            piece, size = [], 0
        piece.append(line)
        size += len(line) + 1
    yield "\n".join(piece)


def _code(language: str, code: str) -> str:
    """Terminal transcripts are often coloured with HTML (`<font color=...>`): keep their
    text. Program code keeps every character (`a < b` is not a tag)."""
    if language in _TERMINALS and _COLOUR_TAG.search(code):
        from bs4 import BeautifulSoup

        code = BeautifulSoup(code, "html.parser").get_text()
    return f"```{language}\n{code}\n```"


def heading_text(text: str) -> str:
    return _ATTRIBUTES.sub("", text).strip()


def _inline(token: Token, *, code_marks: bool = True) -> str:
    """An inline run as text; `code_marks` keeps backticks around inline code (not in
    headings, which become section paths and titles)."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`" if code_marks else child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        # html_inline, image, link and emphasis markers: only their text children count
    return "".join(parts).strip()


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text(" ", strip=True)


def markdown_table(rows: list[list[str]]) -> str:
    """Rows of cells as a Markdown table, the first row its header: kept as one paragraph,
    so a chunk holds it whole (the chunker gives a part of a long one its header again)."""
    width = max(len(r) for r in rows)
    cells = [
        [c.replace("\n", " ").replace("|", "\\|") for c in r] + [""] * (width - len(r))
        for r in rows
    ]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


@dataclass
class Section:
    """The heading path and the paragraphs under it."""

    path: list[tuple[int, str]]
    parts: list[str] = field(default_factory=list)


def markdown_sections(text: str) -> Iterator[Section]:
    """The sections in order, a piece (`_pieces`) parsed at a time."""
    path: list[tuple[int, str]] = []
    for piece in _pieces(text):
        for section in _piece_sections(piece, path):
            yield section
            path = section.path


def _piece_sections(text: str, path: list[tuple[int, str]]) -> list[Section]:
    """The sections of one piece; `path`: the heading path the previous piece ended in."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    sections = [Section(path)]
    lists: list[str] = []  # bullet or ordered, innermost last
    row: list[str] | None = None
    table: list[list[str]] = []
    for i, token in enumerate(tokens):
        current = sections[-1]
        if token.type == "heading_open":
            level = int(token.tag[1:])
            heading = heading_text(_inline(tokens[i + 1], code_marks=False))
            path = [(lvl, h) for lvl, h in current.path if lvl < level] + [(level, heading)]
            sections.append(Section(path))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append("- " if token.type == "bullet_list_open" else "1. ")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            table.append(row)
            row = None
        elif token.type == "table_close" and table:
            current.parts.append(markdown_table(table))
            table = []
        elif token.type == "inline" and tokens[i - 1].type != "heading_open":
            content = _inline(token)
            if row is not None:
                row.append(content)
            elif content:
                current.parts.append((lists[-1] if lists else "") + content)
        elif token.type in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            if code.strip():
                language = token.info.split()[0] if token.info.strip() else ""  # not hl_lines=
                current.parts.append(_code(language, code))
        elif token.type == "html_block" and (content := _html_text(token.content)):
            current.parts.append(content)
    return sections
