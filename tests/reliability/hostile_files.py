"""Hostile files, generated (never committed): PDFs that make pypdf recurse or inflate, and
text files whose parsing costs far more memory or time than their size."""

from __future__ import annotations

import zlib


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1; object 1 is the catalog), with its xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(data: bytes, *, flate: bool = False) -> bytes:
    header = b"<< /Length %d%s >>" % (len(data), b" /Filter /FlateDecode" if flate else b"")
    return header + b"\nstream\n" + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def deep_page_tree_pdf(depth: int = 5000) -> bytes:
    """A page tree nested `depth` levels deep above its one page (object 2 is the root)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        parent = b" /Parent %d 0 R" % (level + 1) if level else b""
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (level + 3, parent))
    page = len(objects) + 1
    objects.append(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
        b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (page - 1, page + 1, page + 2)
    )
    objects.append(_stream(b"BT /F1 12 Tf 72 720 Td (deep) Tj ET"))
    objects.append(_FONT)
    return _pdf(objects)


def inflating_pdf(inflated_mib: int = 1024) -> bytes:
    """One page whose content stream inflates to `inflated_mib` MiB (of spaces): a few MB."""
    packer = zlib.compressobj(9)
    block = b" " * 2**20
    body = b"".join(packer.compress(block) for _ in range(inflated_mib)) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(body, flate=True),
        _FONT,
    ]
    return _pdf(objects)


def text_pdf(pages: int) -> bytes:
    """Not hostile: a plain PDF of `pages` pages of 40 lines of words each (3.6 kB a page),
    to measure what a large legitimate file costs next to the hostile ones."""
    words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT]
    for page in range(pages):
        lines = (
            b"BT /F1 10 Tf 50 %d Td (%s) Tj ET"
            % (740 - 16 * line, b" ".join(words[(page + line + i) % len(words)] for i in range(10)))
            for line in range(40)
        )
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R >> >> >>" % (len(objects) + 2)
        )
        objects.append(_stream(b"\n".join(lines)))
    kids = b" ".join(b"%d 0 R" % (4 + 2 * page) for page in range(pages))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)
    return _pdf(objects)


def one_line_of_words(megabytes: int) -> bytes:
    """One JSON Lines record whose text is `megabytes` MB of words."""
    words = ("lorem ipsum dolor sit amet consectetur " * (megabytes * 2**20 // 39 + 1))[
        : megabytes * 2**20
    ]
    return b'{"_id": "long", "text": "' + words.encode() + b'"}\n'


def empty_objects_line(megabytes: int) -> bytes:
    """One JSON Lines record whose metadata is `megabytes` MB of empty objects: parsed, each
    3-byte `{},` is a 64-byte dict and its list slot, over 20 times the file."""
    objects = b"{}," * (megabytes * 2**20 // 3)
    return b'{"_id": "objects", "text": "t", "metadata": {"o": [' + objects + b"{}]}}\n"


def headings_markdown(count: int) -> bytes:
    """`count` Markdown headings, each with one word of text under it."""
    return b"".join(b"# h%d\nx\n" % i for i in range(count))
