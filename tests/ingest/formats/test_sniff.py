"""A ZIP archive that is an Office or e-book package is read; the package is recognised by
its parts or mimetype, so one under another name says how to read it."""

from __future__ import annotations

import io
import zipfile

from ingest.filetypes import skip_reason
from tests.ingest.formats import samples


def test_packages_are_read_and_plain_archives_skipped() -> None:
    docx, odt, epub = samples.docx(), samples.odt(), samples.epub()
    assert skip_reason("a.docx", docx[:8192]) is None
    assert skip_reason("a.odt", odt[:8192]) is None
    assert skip_reason("a.epub", epub[:8192]) is None
    assert skip_reason("a.zip", docx[:8192]) == (
        "a DOCX document under another name: name it .docx to read it"
    )
    assert skip_reason("book.zip", epub[:8192]) == (
        "a EPUB document under another name: name it .epub to read it"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("site/index.html", "<p>hi</p>")
    assert skip_reason("site.zip", out.getvalue()) == "not prose: ZIP archive"
