"""What PowerPoint and Excel packages share: relationships between parts, and DrawingML
text (`a:p` paragraphs of `a:t` runs)."""

from __future__ import annotations

import posixpath
from xml.etree.ElementTree import Element

from ingest.formats.model import MONOSPACE, code_block, number
from ingest.formats.safety import SafeZip

A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def relationships(package: SafeZip, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type's last word, target part's name)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in package.names:
        return {}
    found = {}
    for rel in package.xml(rels).iter(f"{_RELS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[rel.get("Id", "")] = (
            rel.get("Type", "").rsplit("/", 1)[-1],
            posixpath.normpath(path),
        )
    return found


def _is_code(paragraph: Element) -> bool:
    """Every run with text is in a monospace typeface (how code is set on a slide)."""
    runs = [r for r in paragraph.iter(f"{A}r") if (r.findtext(f"{A}t") or "").strip()]
    faces = [r.find(f"{A}rPr/{A}latin") for r in runs]
    return bool(runs) and all(
        f is not None and MONOSPACE.search(f.get("typeface", "")) for f in faces
    )


def paragraphs(body: Element) -> list[str]:
    """A text body's paragraphs: an indented one (a bullet's sub-point) marked as a list
    item, consecutive ones in a monospace typeface one fenced code block."""
    out: list[str] = []
    code: list[str] = []
    for p in body.iter(f"{A}p"):
        text = "".join(
            (n.text or "") if n.tag == f"{A}t" else "\n"
            for n in p.iter()
            if n.tag in (f"{A}t", f"{A}br")
        )
        if _is_code(p):
            code.extend(text.split("\n"))
            continue
        if code:
            out.append(code_block(code))
            code = []
        text = " ".join(text.split())
        props = p.find(f"{A}pPr")
        level = number(props.get("lvl"), 0, 9) if props is not None else 0
        if text and level > 0:
            text = "  " * (level - 1) + "- " + text
        if text:
            out.append(text)
    if code:
        out.append(code_block(code))
    return out


def cell_text(cell: Element) -> str:
    return " ".join(paragraphs(cell))
