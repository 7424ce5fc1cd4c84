"""Files recognised by content and name: images, fonts, archives and web assets are skipped
with a reason; prose (and a PDF whatever its name) is read. Every input is made here."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.errors import InvalidInput
from ingest.files import discover, load_named
from tests.ingest.pdfs import make_pdf


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inner.md", "# Inside\n\ntext")
    return out.getvalue()


def _tar_gz() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        data = b"hello"
        info = tarfile.TarInfo("a.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


# The first bytes of a TrueType font: version 1.0, 12 tables, then binary table records.
_TTF = b"\x00\x01\x00\x00\x00\x0c\x00\x80\x00\x03\x00\x40" + bytes(range(256)) * 4
_SVG = b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn -->\n<!DOCTYPE svg>\n<svg xmlns="x">'
_SVG += b'<path d="M0 0 L10 10"/>' * 200 + b"</svg>"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("img/logo.png", _png(), "not prose: PNG image"),
        ("img/logo.md", _png(), "not prose: PNG image"),  # content wins over the name
        ("img/diagram.svg", _SVG, "not prose: SVG image"),
        ("img/diagram.drawio.txt", _SVG, "not prose: SVG image"),
        ("fonts/a.ttf", _TTF, "not prose: TrueType font"),
        ("fonts/a.woff2", b"wOF2\x00\x01\x00\x00" + bytes(64), "not prose: WOFF2 font"),
        ("dist/site.zip", _zip(), "not prose: ZIP archive"),
        ("dist/site.tar.gz", _tar_gz(), "not prose: gzip archive"),
        ("css/site.css", b"body { color: red }", "not prose: web asset (style or script)"),
        ("js/app.js", b"console.log('hi')", "not prose: web asset (style or script)"),
    ],
)
def test_non_prose_files_are_refused_with_their_kind(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_named(name, data)
    assert caught.value.detail == reason


def test_text_that_starts_like_a_signature_is_still_text() -> None:
    [doc], _ = load_named("cars.txt", b"BMW and MZ motorcycles. GIF89a is a format name.")
    assert doc.blocks[0].text.startswith("BMW and MZ")


def test_a_pdf_is_read_as_pdf_whatever_its_name() -> None:
    [doc], _ = load_named("export.bin", make_pdf(["Hello from a PDF"]))
    assert (doc.format, doc.blocks[0].text) == ("pdf", "Hello from a PDF")


def test_discovery_skips_non_prose_files_and_lists_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name, data in {
        "index.md": b"# Home\n\nWelcome.",
        "img/logo.png": _png(),
        "img/flow.svg": _SVG,
        "fonts/a.ttf": _TTF,
        "site.zip": _zip(),
        "js/app.js": b"console.log('hi')",
        "blob.dat": bytes(range(256)),
        "guide.html": b"<html><body><p>Read me.</p></body></html>",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    found = discover([root], glob=None, max_bytes=2**20)
    assert [f.name for f in found.files] == ["docs/guide.html", "docs/index.md"]
    assert [(s.path, s.error) for s in found.skipped] == [
        ("docs/blob.dat", "binary file"),
        ("docs/site.zip", "not prose: ZIP archive"),
        ("docs/fonts/a.ttf", "not prose: TrueType font"),
        ("docs/img/flow.svg", "not prose: SVG image"),
        ("docs/img/logo.png", "not prose: PNG image"),
        ("docs/js/app.js", "not prose: web asset (style or script)"),
    ]


def test_sphinx_source_copies_are_skipped() -> None:
    from ingest.filetypes import skip_reason

    assert "Sphinx" in (skip_reason("html/_sources/library/venv.rst.txt", b"venv\n====") or "")
    assert skip_reason("notes/_sources.txt", b"plain notes") is None
    assert skip_reason("html/library/venv.txt", b"plain notes") is None
