"""Word (DOCX) files, read from their WordprocessingML (decision 0026).

- Paragraphs whose style is a heading (a "Heading n" or "Title" style, or any style with an
  outline level, through its `basedOn` chain) become sections.
- Consecutive paragraphs in a code style (preformatted, source, code, macro, plain text, or
  a monospace font) become one fenced block, one line per paragraph; a run in such a
  character style is inline code.
- Tables become Markdown tables, the first row the header; list items keep a marker.
- Comments are kept after the paragraph they annotate, labelled "Comment (author):";
  footnotes and endnotes at the end, labelled.
- Pictures are counted and skipped (a note on the document); deleted revisions are not text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from ingest.formats.model import MONOSPACE, Outline, Parsed, code_block
from ingest.formats.safety import SafeZip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_CODE_STYLE = re.compile(r"preformat|source|code|macro|plain ?text|verbatim|listing", re.I)
_LIST_NAME = re.compile(r"^list (?:bullet|number)", re.I)
_HEADING_NAME = re.compile(r"^heading (\d)$", re.I)
_PICTURES = (f"{W}drawing", f"{W}pict", f"{W}object")


@dataclass(frozen=True)
class _Style:
    level: int | None  # outline level (1 = top) of a heading style
    code: bool
    listed: bool = False  # a list style: its paragraphs are list items


def _styles(package: SafeZip) -> dict[str, _Style]:
    if "word/styles.xml" not in package.names:
        return {}
    raw: dict[str, tuple[str | None, int | None, bool, bool]] = {}
    for style in package.xml("word/styles.xml").iter(f"{W}style"):
        sid = style.get(f"{W}styleId") or ""
        name = _val(style.find(f"{W}name")) or sid
        level: int | None = None
        if (match := _HEADING_NAME.match(name)) is not None:
            level = int(match[1])
        elif name.lower() in ("title", "heading"):
            level = 1 if name.lower() == "title" else None
        elif (outline := _val(style.find(f"{W}pPr/{W}outlineLvl"))) is not None:
            level = int(outline) + 1 if outline.isdigit() and int(outline) < 9 else None
        fonts = style.find(f"{W}rPr/{W}rFonts")
        font = fonts.get(f"{W}ascii", "") if fonts is not None else ""
        code = bool(_CODE_STYLE.search(name) or MONOSPACE.search(font))
        listed = bool(_LIST_NAME.match(name)) or style.find(f"{W}pPr/{W}numPr") is not None
        raw[sid] = (_val(style.find(f"{W}basedOn")), level, code, listed)

    def resolve(sid: str, depth: int = 0) -> _Style:
        based, level, code, listed = raw.get(sid, (None, None, False, False))
        if based and depth < 20 and based in raw:
            parent = resolve(based, depth + 1)
            level = level if level is not None else parent.level
            code, listed = code or parent.code, listed or parent.listed
        return _Style(level, code, listed and level is None)

    return {sid: resolve(sid) for sid in raw}


def _val(element: Element | None) -> str | None:
    return element.get(f"{W}val") if element is not None else None


def _notes(package: SafeZip, part: str, tag: str) -> dict[str, str]:
    """Comments, footnotes or endnotes by id: their text and, for comments, the author."""
    if part not in package.names:
        return {}
    found: dict[str, str] = {}
    for note in package.xml(part).iter(f"{W}{tag}"):
        text = " ".join(t for p in note.iter(f"{W}p") if (t := _plain(p)))
        if text and note.get(f"{W}type") not in ("separator", "continuationSeparator"):
            author = note.get(f"{W}author")
            found[note.get(f"{W}id", "")] = f"({author}): {text}" if author else f": {text}"
    return found


def _plain(paragraph: Element) -> str:
    return "".join(_run_texts(paragraph)).strip()


def _run_texts(element: Element) -> list[str]:
    out: list[str] = []
    for node in element.iter():
        if node.tag == f"{W}t":
            out.append(node.text or "")
        elif node.tag == f"{W}tab":
            out.append("\t")
        elif node.tag in (f"{W}br", f"{W}cr"):
            out.append("\n")
        elif node.tag == f"{W}noBreakHyphen":
            out.append("-")
    return out


class _Reader:
    def __init__(self, package: SafeZip) -> None:
        self.styles = _styles(package)
        self.comments = _notes(package, "word/comments.xml", "comment")
        self.outline = Outline()
        self.code: list[str] = []  # lines of the code block being read

    def end_code(self) -> None:
        if self.code:
            self.outline.add(code_block(self.code))
            self.code = []

    def body(self, element: Element) -> None:
        for child in element:
            if child.tag == f"{W}p":
                self.paragraph(child)
            elif child.tag == f"{W}tbl":
                self.end_code()
                self.outline.table(
                    [
                        [self.cell(tc) for tc in tr.findall(f"{W}tc")]
                        for tr in child.findall(f"{W}tr")
                    ]
                )
            elif child.tag in (f"{W}sdt", f"{W}sdtContent", f"{W}customXml"):
                self.body(child)
        self.end_code()

    def cell(self, cell: Element) -> str:
        self.outline.images += sum(1 for tag in _PICTURES for _ in cell.iter(tag))
        return " ".join(t for p in cell.iter(f"{W}p") if (t := " ".join(_plain(p).split())))

    def style(self, paragraph: Element) -> _Style:
        style = self.styles.get(
            _val(paragraph.find(f"{W}pPr/{W}pStyle")) or "", _Style(None, False)
        )
        outline = _val(paragraph.find(f"{W}pPr/{W}outlineLvl"))
        if outline is not None and outline.isdigit() and int(outline) < 9:
            return _Style(int(outline) + 1, style.code)
        return style

    def paragraph(self, paragraph: Element) -> None:
        self.outline.images += sum(1 for tag in _PICTURES for _ in paragraph.iter(tag))
        style = self.style(paragraph)
        if style.code:
            self.code.extend("".join(_run_texts(paragraph)).split("\n"))
            return
        self.end_code()
        text = self.inline(paragraph, code=style.level is None)
        if style.level is not None:
            self.outline.heading(style.level, text)
        else:
            listed = style.listed or paragraph.find(f"{W}pPr/{W}numPr") is not None
            if listed and text:
                text = "- " + text
            self.outline.add(text)
        for ref in paragraph.iter(f"{W}commentReference"):
            if comment := self.comments.get(ref.get(f"{W}id", "")):
                self.outline.add("Comment " + comment)

    def inline(self, paragraph: Element, *, code: bool = True) -> str:
        """The paragraph's text; runs in a code character style in backticks."""
        out: list[str] = []
        for run in paragraph.iter(f"{W}r"):
            text = "".join(_run_texts(run))
            rstyle = _val(run.find(f"{W}rPr/{W}rStyle")) or ""
            fonts = run.find(f"{W}rPr/{W}rFonts")
            font = fonts.get(f"{W}ascii", "") if fonts is not None else ""
            if code and text.strip() and (_CODE_STYLE.search(rstyle) or MONOSPACE.search(font)):
                text = f"`{text.strip()}`" if text == text.strip() else f" `{text.strip()}` "
            out.append(text)
        return "\n".join(" ".join(line.split()) for line in "".join(out).split("\n")).strip()


def read_docx(data: bytes) -> Parsed:
    package = SafeZip(data, "DOCX")
    reader = _Reader(package)
    body = package.xml("word/document.xml").find(f"{W}body")
    if body is not None:
        reader.body(body)
    for part, tag, label in (
        ("word/footnotes.xml", "footnote", "Footnote"),
        ("word/endnotes.xml", "endnote", "Endnote"),
    ):
        for text in _notes(package, part, tag).values():
            reader.outline.add(label + text)
    parsed = reader.outline.done()
    if "docProps/core.xml" in package.names:
        title = package.xml("docProps/core.xml").findtext(_DC_TITLE) or ""
        parsed.title = title.strip() or parsed.title
    return parsed
