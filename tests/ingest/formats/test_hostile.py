"""Each hostile file fails alone with the budget it broke named (decision 0027)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.errors import InvalidInput
from ingest.loaders import load_file
from tests.ingest.formats import hostile, samples


@pytest.mark.parametrize(
    ("name", "make", "error"),
    [
        ("bomb.docx", hostile.docx_bomb, "zip bomb refused: word/document.xml inflates"),
        ("many.odt", hostile.many_entries, "zip bomb refused: 10,002 entries in the archive"),
        ("laughs.docx", hostile.docx_laughs, "XML entity declarations refused in word/document"),
        ("laughs.epub", hostile.epub_laughs, "XML entity declarations refused in OEBPS/text/c1"),
        (
            "laughs.odt",
            lambda: samples.odt(hostile.LAUGHS + "<office:document-content/>"),
            "XML entity declarations refused in content.xml",
        ),
        (
            "tall.xlsx",
            lambda: hostile.xlsx_declaring("A1:C200000"),
            "sheet 'Orders' has over 100,000 rows",
        ),
        ("wide.xlsx", lambda: hostile.xlsx_declaring("A1:ZZZ3"), "sheet 'Orders' has 18,278 col"),
        ("long.csv", hostile.long_csv, "CSV file has over 100,000 rows"),
    ],
)
def test_refused_with_the_reason(name: str, make: Callable[[], bytes], error: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_file(name, make())
    assert caught.value.detail.startswith(error), caught.value.detail


def test_a_table_just_under_the_budget_is_read() -> None:
    doc = load_file("ok.csv", hostile.long_csv(99_999))
    assert doc.blocks[0].text.startswith("| n | square |\n| --- | --- |\n| 0 | 0 |")


def test_a_huge_space_count_is_capped() -> None:
    body = (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        '<text:p text:style-name="Source_20_Code">a<text:s text:c="999999999"/>b</text:p>'
        "</office:text></office:body>"
        "</office:document-content>"
    )
    doc = load_file("spaces.odt", samples.odt(body))
    assert doc.blocks[0].text == "```\na" + " " * 100 + "b\n```"  # in code, spaces are kept
