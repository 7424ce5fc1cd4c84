"""CSV and TSV files: the dialect sniffed from a bounded sample, the first row the header,
the rows as Markdown tables of ROWS_PER_TABLE rows, each under the header again.

Rows, columns and cells are under the same budgets as a spreadsheet's (TableBudget).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from app.errors import InvalidInput
from ingest.formats.model import Outline, Parsed
from ingest.formats.safety import TableBudget

SNIFF_CHARS = 64 * 1024  # the sample the dialect is guessed from, cut at a line end
_DELIMITERS = ",;\t|"


def _dialect(text: str, tab: bool) -> type[csv.Dialect] | str:
    if tab:
        return "excel-tab"
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        return "excel"  # one column, or no clear delimiter: read as commas


def _rows(text: str, dialect: type[csv.Dialect] | str, budget: TableBudget) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for row in reader:
            budget.check(reader.line_num, len(row), len(row))
            budget.cells += len(row)
            yield [" ".join(cell.split()) for cell in row]
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: malformed {budget.what}: {exc}") from exc


def read_delimited(text: str, *, tab: bool) -> Parsed:
    outline = Outline()
    what = "TSV file" if tab else "CSV file"
    if not outline.table_rows(_rows(text, _dialect(text, tab), TableBudget(what))):
        raise InvalidInput(f"no rows in {what}")
    return outline.done()
