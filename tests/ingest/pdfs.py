"""Small PDFs for tests, written by hand so no PDF writer is needed: one text page per string
(Helvetica, the standard font every reader knows; "\n" starts a new line), or pages with no
text layer at all, and optionally a document title in the Info dictionary."""

from __future__ import annotations


def _page_stream(text: str) -> bytes:
    lines = " T* ".join(f"({line}) Tj" for line in text.split("\n"))
    return f"BT /F1 12 Tf 14 TL 72 720 Td {lines} ET".encode()


def make_pdf(pages: list[str | None], *, title: str | None = None) -> bytes:
    objects: list[bytes] = []
    kids = []
    font_id = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        page_id, content_id = 3 + 2 * i, 4 + 2 * i
        kids.append(f"{page_id} 0 R")
        stream = _page_stream(text) if text is not None else b""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R"
            f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode(),
    ]
    body = [*head, *objects, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    info = ""
    if title is not None:
        body.append(f"<< /Title ({title}) >>".encode())
        info = f" /Info {len(body)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(body, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(body) + 1,
        info.encode(),
        xref,
    )
    return bytes(out)
