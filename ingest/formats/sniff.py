"""Which Office or e-book package a ZIP archive is, from its first bytes: ODF and EPUB store
their `mimetype` first and uncompressed (the standards require it); an OOXML package names
its main part (`word/document.xml`...) in a local header, usually within the first KiB."""

from __future__ import annotations

_ZIP = b"PK\x03\x04"
_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/epub+zip": "epub",
}
_MAIN_PARTS = {b"word/document": "docx", b"ppt/presentation": "pptx", b"xl/workbook": "xlsx"}


def package_kind(head: bytes) -> str | None:
    """ "docx", "pptx", "xlsx", "odt" or "epub" when the bytes show that package, else None."""
    if not head.startswith(_ZIP):
        return None
    if head[30:38] == b"mimetype":
        for mimetype, kind in _MIMETYPES.items():
            if head[38 : 38 + len(mimetype)] == mimetype:
                return kind
        return None  # another ODF kind (spreadsheet, presentation): not read
    if b"[Content_Types].xml" in head:
        for part, kind in _MAIN_PARTS.items():
            if part in head:
                return kind
    return None


_PACKAGE_SUFFIXES = (".docx", ".pptx", ".xlsx", ".xlsm", ".odt", ".epub")


def package_verdict(name: str, head: bytes) -> str | None:
    """For a ZIP archive: "" to read it (a package suffix; the reader checks its parts), or
    why it is not read (a package under another name); None for anything else."""
    if not head.startswith(_ZIP):
        return None
    if name.lower().endswith(_PACKAGE_SUFFIXES):
        return ""
    if (kind := package_kind(head)) is not None:
        return f"a {kind.upper()} document under another name: name it .{kind} to read it"
    return None
