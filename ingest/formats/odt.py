"""OpenDocument text (ODT), read from its content.xml (decision 0026).

`text:h` with its outline level becomes a section; paragraphs in a code style (preformatted,
source, code, or a monospace font, through the parent-style chain) become one fenced block;
a span in such a style is inline code. Tables become Markdown tables, list items keep a
marker, annotations (comments) are kept labelled "Comment (author):", notes labelled
"Footnote:"; pictures are counted and skipped.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from ingest.formats.model import MONOSPACE, Outline, Parsed, code_block, number
from ingest.formats.safety import SafeZip

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CODE_STYLE = re.compile(r"preformat|source|code|macro|verbatim|listing|teletype", re.I)


def _code_styles(roots: list[Element]) -> set[str]:
    """The names of paragraph and text styles that are code, following parent styles."""
    parents: dict[str, str] = {}
    code: set[str] = set()
    for root in roots:
        for style in root.iter(f"{STYLE}style"):
            name = style.get(f"{STYLE}name", "")
            parents[name] = style.get(f"{STYLE}parent-style-name", "")
            props = style.find(f"{STYLE}text-properties")
            font = props.get(f"{STYLE}font-name", "") if props is not None else ""
            label = style.get(f"{STYLE}display-name", "") + " " + name.replace("_20_", " ")
            if _CODE_STYLE.search(label) or MONOSPACE.search(font):
                code.add(name)
    for name in list(parents):
        seen, current = 0, name
        while current and seen < 20:
            if current in code or _CODE_STYLE.search(current.replace("_20_", " ")):
                code.add(name)
                break
            current, seen = parents.get(current, ""), seen + 1
    return code


class _Reader:
    def __init__(self, code_styles: set[str]) -> None:
        self.code_styles = code_styles
        self.outline = Outline()
        self.code: list[str] = []
        self.notes: list[str] = []

    def is_code(self, element: Element) -> bool:
        """In a code style: a known one, or one named so though not defined in the file."""
        name = element.get(f"{TEXT}style-name", "")
        return name in self.code_styles or bool(_CODE_STYLE.search(name.replace("_20_", " ")))

    def end_code(self) -> None:
        if self.code:
            self.outline.add(code_block(self.code))
            self.code = []

    def body(self, element: Element, marker: str = "") -> None:
        for child in element:
            tag = child.tag
            if tag == f"{TEXT}h":
                self.end_code()
                level = number(child.get(f"{TEXT}outline-level"), 1, 10)
                self.outline.heading(level, self.inline(child, code=False))
            elif tag == f"{TEXT}p":
                self.paragraph(child, marker)
                marker = "  " if marker else ""  # a list item's next paragraphs
            elif tag == f"{TEXT}list":
                self.end_code()
                for item in child:
                    self.body(item, "- ")
            elif tag == f"{TABLE}table":
                self.end_code()
                self.outline.table(self.rows(child))
            elif tag in (f"{TEXT}section", f"{TABLE}table-header-rows", f"{TEXT}list-header"):
                self.body(child, marker)
        self.end_code()

    def rows(self, table: Element) -> list[list[str]]:
        rows = []
        # this table's rows, not a nested table's (read as its cell's text)
        own = [
            table,
            *table.findall(f"{TABLE}table-header-rows"),
            *table.findall(f"{TABLE}table-rows"),
        ]
        for row in (r for part in own for r in part.findall(f"{TABLE}table-row")):
            cells = [c for c in row if c.tag == f"{TABLE}table-cell"]
            rows.append([" ".join(self.inline(p).split()) for p in (self._cell(c) for c in cells)])
        return rows

    def _cell(self, cell: Element) -> Element:
        self.outline.images += sum(1 for _ in cell.iter(f"{DRAW}image"))
        holder = Element("cell")
        holder.extend(p for p in cell.iter() if p.tag in (f"{TEXT}p", f"{TEXT}h"))
        return holder

    def paragraph(self, paragraph: Element, marker: str) -> None:
        self.outline.images += sum(1 for _ in paragraph.iter(f"{DRAW}image"))
        if self.is_code(paragraph):
            self.code.extend(self.inline(paragraph, code=False, raw=True).split("\n"))
            return
        self.end_code()
        text = self.inline(paragraph)
        self.outline.add(marker + text if text else "")
        for note in paragraph.iter(f"{OFFICE}annotation"):
            author = note.findtext(f"{_DC}creator") or ""
            words = " ".join(self.inline(p) for p in note.iter(f"{TEXT}p"))
            self.outline.add(f"Comment ({author}): {words}" if author else f"Comment: {words}")

    def inline(self, element: Element, *, code: bool = True, raw: bool = False) -> str:
        out: list[str] = []
        self._inline(element, out, code=code)
        text = "".join(out)
        if raw:
            return text
        return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()

    def _inline(self, element: Element, out: list[str], *, code: bool) -> None:
        out.append(element.text or "")
        for child in element:
            tag = child.tag
            if tag == f"{TEXT}s":
                out.append(" " * number(child.get(f"{TEXT}c"), 1, 100))
            elif tag == f"{TEXT}tab":
                out.append("\t")
            elif tag == f"{TEXT}line-break":
                out.append("\n")
            elif tag == f"{TEXT}note":
                body = child.find(f"{TEXT}note-body")
                if body is not None:
                    self.notes.append(" ".join(self.inline(p) for p in body.iter(f"{TEXT}p")))
            elif tag in (f"{OFFICE}annotation", f"{OFFICE}annotation-end"):
                pass  # read after the paragraph, labelled
            elif code and tag == f"{TEXT}span" and self.is_code(child):
                inner: list[str] = []
                self._inline(child, inner, code=False)
                words = "".join(inner).strip()
                out.append(f"`{words}`" if words else "")
            else:
                self._inline(child, out, code=code)
            out.append(child.tail or "")


def read_odt(data: bytes) -> Parsed:
    package = SafeZip(data, "ODT")
    content = package.xml("content.xml")
    styles = [content] + ([package.xml("styles.xml")] if "styles.xml" in package.names else [])
    reader = _Reader(_code_styles(styles))
    text = content.find(f"{OFFICE}body/{OFFICE}text")
    if text is not None:
        reader.body(text)
    for note in reader.notes:
        reader.outline.add("Footnote: " + note)
    parsed = reader.outline.done()
    if "meta.xml" in package.names:
        title = package.xml("meta.xml").findtext(f"{OFFICE}meta/{_DC}title") or ""
        parsed.title = title.strip() or parsed.title
    return parsed
