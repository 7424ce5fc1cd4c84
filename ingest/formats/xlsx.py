"""Excel (XLSX) workbooks: one section per sheet, its cells as Markdown tables under the
sheet's first row (openpyxl in read-only mode: rows are streamed, never all held as cells).

Formulas give their last computed value (what the author saw). Cell comments are kept after
the sheet's table, labelled "Comment (B2):". Charts and pictures are skipped with a note.
A sheet over the budgets (rows, columns, cells: docs/decisions/0027-hostile-office-files.md)
fails the file with the reason: a million-row export is data for a database, not prose.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from app.errors import InvalidInput
from ingest.formats.model import Outline, Parsed
from ingest.formats.ooxml import R, relationships
from ingest.formats.safety import SafeZip, TableBudget

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


def _rows(sheet: Any, budget: TableBudget) -> Iterator[list[str]]:
    rows, columns = sheet.max_row or 0, sheet.max_column or 0  # as the sheet declares them
    budget.check(rows, columns, rows * columns)  # fail before reading a row when it says so
    for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
        budget.check(number, len(row), len(row))
        budget.cells += len(row)
        cells = [_value(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        yield cells


def _comments(package: SafeZip) -> dict[str, list[str]]:
    """Each sheet's cell comments, by sheet name."""
    workbook = "xl/workbook.xml"
    if workbook not in package.names:
        return {}
    rels = relationships(package, workbook)
    found: dict[str, list[str]] = {}
    for sheet in package.xml(workbook).iter(f"{_S}sheet"):
        rel = rels.get(sheet.get(f"{R}id", ""))
        if rel is None or rel[1] not in package.names:
            continue
        for kind, target in relationships(package, rel[1]).values():
            if kind == "comments" and target in package.names:
                found[sheet.get("name", "")] = [
                    f"Comment ({c.get('ref')}): {' '.join(''.join(c.itertext()).split())}"
                    for c in package.xml(target).iter(f"{_S}comment")
                ]
    return found


def read_xlsx(data: bytes) -> Parsed:
    from openpyxl import load_workbook

    package = SafeZip(data, "XLSX")  # budgets first: openpyxl opens the archive itself
    comments = _comments(package)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise InvalidInput(f"unreadable XLSX file: {exc}") from exc
    outline, budget = Outline(), TableBudget("workbook")
    try:
        for sheet in workbook.worksheets:
            outline.heading(1, sheet.title)
            budget.what = f"sheet {sheet.title!r}"
            outline.table_rows(_rows(sheet, budget))
            for comment in comments.get(sheet.title, []):
                outline.add(comment)
    finally:
        workbook.close()
    outline.images = sum(1 for n in package.names if n.startswith(("xl/media/", "xl/charts/chart")))
    parsed = outline.done("picture or chart")
    parsed.title = (workbook.properties.title or "").strip() if workbook.properties else ""
    return parsed
