"""PowerPoint (PPTX) files: one section per slide, "Slide 3: Its title", in the order the
presentation lists them (hidden slides included: they are still the author's text).

A slide's text boxes give paragraphs (sub-points as list items), its tables Markdown tables;
its speaker notes follow, labelled "Speaker notes:", and its comments "Comment:". Pictures,
charts' images and media are counted and skipped. Each block carries the slide number as its
page, so a citation names the slide.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from ingest.formats.model import Outline, Parsed
from ingest.formats.ooxml import A, R, cell_text, paragraphs, relationships
from ingest.formats.safety import SafeZip
from ingest.markdown_text import markdown_table

P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_TITLES = ("title", "ctrTitle")
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_NOT_NOTES = ("sldImg", "sldNum", "hdr", "ftr", "dt")  # placeholders of a notes page


def _placeholder(shape: Element) -> str | None:
    ph = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
    return None if ph is None else ph.get("type", "body")


class _Slide:
    def __init__(self, outline: Outline) -> None:
        self.outline = outline
        self.title = ""
        self.parts: list[str] = []

    def shapes(self, tree: Element) -> None:
        for shape in tree:
            if shape.tag == f"{P}sp":
                body = shape.find(f"{P}txBody")
                texts = paragraphs(body) if body is not None else []
                if _placeholder(shape) in _TITLES and not self.title:
                    self.title = " ".join(texts)
                else:
                    self.parts.extend(texts)
            elif shape.tag == f"{P}grpSp":
                self.shapes(shape)
            elif shape.tag == f"{P}graphicFrame":
                self.frame(shape)
            elif shape.tag == f"{P}pic":
                self.outline.images += 1

    def frame(self, frame: Element) -> None:
        table = frame.find(f".//{A}tbl")
        if table is None:
            self.outline.images += 1  # a chart or diagram: drawn, not text pgask reads
            return
        rows = [[cell_text(tc) for tc in tr.iter(f"{A}tc")] for tr in table.iter(f"{A}tr")]
        rows = [r for r in rows if any(r)]
        if rows:
            self.parts.append(markdown_table(rows))


def _notes(package: SafeZip, part: str) -> list[str]:
    texts = []
    for shape in package.xml(part).iter(f"{P}sp"):
        body = shape.find(f"{P}txBody")
        if body is not None and _placeholder(shape) not in _NOT_NOTES:
            texts.extend(paragraphs(body))
    return texts


def _comments(package: SafeZip, part: str) -> list[str]:
    """Legacy (`p:cm` with `p:text`) and modern (`cm` with a text body) comments."""
    out = []
    for comment in package.xml(part):
        legacy = comment.findtext(f"{P}text")
        text = legacy if legacy is not None else " ".join(paragraphs(comment))
        if text.strip():
            out.append("Comment: " + " ".join(text.split()))
    return out


def _slide_parts(package: SafeZip) -> list[str]:
    rels = relationships(package, "ppt/presentation.xml")
    order = package.xml("ppt/presentation.xml").iter(f"{P}sldId")
    slides = [rels[rid][1] for s in order if (rid := s.get(f"{R}id", "")) in rels]
    return [s for s in slides if s in package.names]


def read_pptx(data: bytes) -> Parsed:
    package = SafeZip(data, "PPTX")
    outline = Outline()
    first_title = ""
    for number, part in enumerate(_slide_parts(package), 1):
        slide = _Slide(outline)
        tree = package.xml(part).find(f"{P}cSld/{P}spTree")
        if tree is not None:
            slide.shapes(tree)
        for kind, target in relationships(package, part).values():
            if target not in package.names:
                continue
            if kind == "notesSlide" and (notes := _notes(package, target)):
                slide.parts.append("Speaker notes: " + "\n".join(notes))
            elif kind in ("comments", "comment") or "omment" in kind:
                slide.parts.extend(_comments(package, target))
        outline.flush()
        outline.page = number
        heading = f"Slide {number}: {slide.title}" if slide.title else f"Slide {number}"
        outline.heading(1, heading)
        outline.parts = [p for p in slide.parts if p.strip()] or [slide.title]
        first_title = first_title or slide.title
    parsed = outline.done()
    title = ""
    if "docProps/core.xml" in package.names:
        title = package.xml("docProps/core.xml").findtext(_DC_TITLE) or ""
    parsed.title = title.strip() or first_title
    return parsed
