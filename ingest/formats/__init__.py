"""Readers for Office, e-book, reStructuredText, CSV/TSV and e-mail files (docs/formats.md).

`ingest.loaders` registers `SUFFIXES` and calls `read`; each reader gives a `Parsed` (title,
sections, metadata, notes on what it skipped) and raises `InvalidInput` naming the reason for
a file it cannot or will not read (a broken or hostile archive, a sheet over its budget).
Readers are imported when first used, so a parse worker pays only for the formats it meets.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.formats.model import Parsed, Section

SUFFIXES: dict[str, str] = {
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",  # macros are not run or read, only the cells
    ".odt": "odt",
    ".epub": "epub",
    ".rst": "rst",
    ".rest": "rst",
    ".csv": "csv",
    ".tsv": "tsv",
    ".eml": "eml",
}
_TEXT_KINDS = frozenset({"rst", "csv", "tsv"})  # read from decoded text


def read(kind: str, data: bytes, decode: Callable[[bytes], str]) -> Parsed:
    """The `kind` (a value of SUFFIXES) file's content; `decode` turns a text format's bytes
    into text, with the errors every text format gives."""
    if kind in _TEXT_KINDS:
        text = decode(data)
        if kind == "rst":
            from ingest.formats.rst import read_rst

            return read_rst(text)
        from ingest.formats.delimited import read_delimited

        return read_delimited(text, tab=kind == "tsv")
    reader: Callable[[bytes], Parsed]
    if kind == "docx":
        from ingest.formats.docx import read_docx as reader
    elif kind == "pptx":
        from ingest.formats.pptx import read_pptx as reader
    elif kind == "xlsx":
        from ingest.formats.xlsx import read_xlsx as reader
    elif kind == "odt":
        from ingest.formats.odt import read_odt as reader
    elif kind == "epub":
        from ingest.formats.epub import read_epub as reader
    else:
        from ingest.formats.eml import read_eml as reader
    return reader(data)


__all__ = ["SUFFIXES", "Parsed", "Section", "read"]
