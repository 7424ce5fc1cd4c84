"""What a format reader gives back: the document's title, its text under heading paths, the
metadata it found (mail headers) and notes on what it left out (images, attachments).

Readers build the outline with `Outline`, the same rule the HTML reader follows: a heading
of level n ends the sections of level n and deeper, text goes under the current path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.markdown_text import markdown_table

# Rows of one Markdown table cut from a sheet or CSV file: each is a paragraph of its own, so
# chunks end between them; the header comes again on each.
ROWS_PER_TABLE = 100
# Font families code is set in, when no style says it is code.
MONOSPACE = re.compile(r"courier|consolas|mono|menlo|monaco|lucida console", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    """Paragraphs (joined by blank lines) under one heading path; `page` is a slide's
    number, so a chunk of a slide cites it."""

    path: tuple[str, ...]
    text: str
    page: int | None = None


@dataclass
class Parsed:
    title: str = ""
    sections: list[Section] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was not read, and why


class Outline:
    """Collects paragraphs under the current heading path."""

    def __init__(self) -> None:
        self.parsed = Parsed()
        self.path: list[tuple[int, str]] = []
        self.parts: list[str] = []
        self.page: int | None = None
        self.images = 0  # embedded pictures met (not read: pgask reads text)

    def flush(self) -> None:
        if self.parts:
            path = tuple(h for _, h in self.path)
            self.parsed.sections.append(Section(path, "\n\n".join(self.parts), self.page))
        self.parts = []

    def heading(self, level: int, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        self.flush()
        self.path = [(lvl, h) for lvl, h in self.path if lvl < level] + [(level, text)]
        self.parsed.title = self.parsed.title or text

    def add(self, text: str) -> None:
        if text.strip():
            self.parts.append(text.strip())

    def table(self, rows: list[list[str]]) -> None:
        """A table as Markdown, its first row the header (the chunker repeats it in each
        part of a table too long for one chunk)."""
        rows = [r for r in rows if any(c.strip() for c in r)]
        if rows:
            self.add(markdown_table(rows))

    def table_rows(self, rows: Iterable[list[str]]) -> int:
        """A long table (a sheet, a CSV file) as Markdown tables of ROWS_PER_TABLE rows, each
        under the first row as its header; the number of rows read."""
        header: list[str] | None = None
        batch: list[list[str]] = []
        count = 0
        for row in rows:
            if not any(c.strip() for c in row):
                continue
            count += 1
            if header is None:
                header = row
                continue
            batch.append(row)
            if len(batch) == ROWS_PER_TABLE:
                self.table([header, *batch])
                batch = []
        if header is not None and (batch or count == 1):
            self.table([header, *batch])
        return count

    def done(self, what: str = "embedded image") -> Parsed:
        self.flush()
        if self.images:
            plural = "s" if self.images > 1 else ""
            self.parsed.notes.append(
                f"{self.images} {what}{plural} skipped: pgask reads text, not pictures"
            )
        return self.parsed


def number(value: str | None, default: int, most: int) -> int:
    """An attribute's count or level: `default` when it is not a number, at most `most` (a
    hostile `text:c="999999999"` would otherwise ask for a gigabyte of spaces)."""
    return min(int(value), most) if value is not None and value.isdigit() else default


def code_block(lines: list[str], language: str = "") -> str:
    code = "\n".join(lines).strip("\n")
    fence = "````" if "```" in code else "```"
    return f"{fence}{language}\n{code}\n{fence}" if code.strip() else ""
