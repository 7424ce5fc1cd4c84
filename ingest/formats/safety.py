"""Budgets for the ZIP and XML inside Office and e-book files
(docs/decisions/0027-hostile-office-files.md).

DOCX, PPTX, XLSX, ODT and EPUB are ZIP archives of XML parts. A hostile one is a zip bomb
(a part of a few KiB declaring gigabytes, or a million entries) or an XML part whose DOCTYPE
declares entities that expand to gigabytes ("billion laughs"). Every archive is checked from
its central directory before any part is inflated, and every XML part is parsed by
defusedxml, which refuses entity declarations and external references. Each refusal is an
`InvalidInput` naming the budget, so the file fails alone and the ingest goes on; the parse
worker's time and memory budgets (ingest/parsing.py) stay the last line behind these.

zipfile itself never inflates a part past the size its header declares (and checks its
CRC), so checking the declared sizes bounds what is read.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from app.errors import InvalidInput

MAX_ENTRIES = 10_000  # a 1,500-page manual as DOCX has 40; EPUBs of a few hundred chapters
MAX_TOTAL_BYTES = 1 << 30  # all parts, inflated
MAX_PART_BYTES = 64 << 20  # one XML part read whole (its tree takes about 10 times that)
MAX_RATIO = 200  # inflated / compressed, for parts over RATIO_FLOOR; zip bombs reach ~1,000
RATIO_FLOOR = 1 << 20
# Tables (XLSX sheets, CSV files): a million-row export is data for a database, not prose.
MAX_ROWS = 100_000  # per sheet or file
MAX_COLUMNS = 1_000
MAX_CELLS = 2_000_000  # per file; a sheet's empty cells inside its used range count


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


class SafeZip:
    """A ZIP archive checked against the budgets before any part is read."""

    def __init__(self, data: bytes, kind: str) -> None:
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InvalidInput(f"not a valid {kind} file (broken ZIP archive: {exc})") from exc
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise InvalidInput(
                f"zip bomb refused: {len(infos):,} entries in the archive (budget {MAX_ENTRIES:,})"
            )
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise InvalidInput(
                f"zip bomb refused: parts inflate to {_mib(total)} (budget {_mib(MAX_TOTAL_BYTES)})"
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise InvalidInput(
                    f"zip bomb refused: {info.filename} inflates {ratio:,.0f} times"
                    f" (budget {MAX_RATIO} times)"
                )
        self.names = {i.filename for i in infos}
        self.kind = kind

    def read(self, name: str) -> bytes:
        try:
            info = self.zip.getinfo(name)
        except KeyError as exc:
            raise InvalidInput(f"not a valid {self.kind} file: no part {name}") from exc
        if info.file_size > MAX_PART_BYTES:
            raise InvalidInput(
                f"part {name} is {_mib(info.file_size)} inflated"
                f" (budget {_mib(MAX_PART_BYTES)} per part)"
            )
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            raise InvalidInput(f"unreadable part {name} of the {self.kind} file: {exc}") from exc

    def xml(self, name: str) -> Element:
        return parse_xml(self.read(name), name)


def parse_xml(data: bytes, name: str) -> Element:
    """An XML part's tree; a DOCTYPE declaring entities, or any external reference, is
    refused (defusedxml)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root: Any = fromstring(data)
    except DefusedXmlException as exc:
        raise InvalidInput(f"XML entity declarations refused in {name}: {exc}") from exc
    except ParseError as exc:
        raise InvalidInput(f"malformed XML in {name}: {exc}") from exc
    return root  # type: ignore[no-any-return]


class TableBudget:
    """Counts a file's cells as its rows are read; over a budget is an InvalidInput."""

    def __init__(self, what: str) -> None:
        self.what = what  # "sheet 'Orders'", "CSV file": named in the error
        self.cells = 0

    def check(self, rows: int, columns: int, more_cells: int) -> None:
        if rows > MAX_ROWS:
            raise InvalidInput(f"{self.what} has over {MAX_ROWS:,} rows (budget {MAX_ROWS:,})")
        if columns > MAX_COLUMNS:
            raise InvalidInput(f"{self.what} has {columns:,} columns (budget {MAX_COLUMNS:,})")
        if self.cells + more_cells > MAX_CELLS:
            raise InvalidInput(f"file has over {MAX_CELLS:,} cells (budget {MAX_CELLS:,})")
