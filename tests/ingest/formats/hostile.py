"""Hostile files: zip bombs, XML entity expansion ("billion laughs"), sheets over their
budgets. Each is small on disk."""

from __future__ import annotations

import io
import re
import zipfile

from tests.ingest.formats import samples

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
"""


def _replaced(data: bytes, part: str, content: bytes) -> bytes:
    """The package with one part's content replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = content if info.filename == part else old.read(info)
            new.writestr(info, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def docx_bomb() -> bytes:
    """A DOCX whose document part inflates 1,000 times to 64 MiB (of spaces)."""
    body = b'<?xml version="1.0"?><w:document xmlns:w="x">' + b" " * (64 << 20) + b"</w:document>"
    return _replaced(samples.docx(), "word/document.xml", body)


def many_entries(count: int = 10_001) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        for n in range(count):
            archive.writestr(f"x/{n}", b"")
    return out.getvalue()


def docx_laughs() -> bytes:
    body = LAUGHS + '<w:document xmlns:w="x"><w:body>&lol9;</w:body></w:document>'
    return _replaced(samples.docx(), "word/document.xml", body.encode())


def epub_laughs() -> bytes:
    chapter = LAUGHS.replace("lolz", "html") + "<html><body><p>&lol9;</p></body></html>"
    return samples.epub(chapter)


def xlsx_declaring(dimension: str) -> bytes:
    """A small workbook whose sheet declares the used range `dimension`."""
    data = samples.xlsx()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    sheet = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"', sheet)
    return _replaced(data, "xl/worksheets/sheet1.xml", sheet.encode())


def long_csv(rows: int = 100_001) -> bytes:
    return ("n,square\n" + "".join(f"{n},{n * n}\n" for n in range(rows))).encode()
