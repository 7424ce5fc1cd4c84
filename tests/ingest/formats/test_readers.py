"""What each format's reader keeps: headings as sections, slides as sections, tables as
Markdown tables with their header, code fenced, notes and comments labelled, pictures and
attachments skipped with a note."""

from __future__ import annotations

import pytest

from ingest.loaders import LoadedDocument, file_format, load_file
from tests.ingest.formats import samples


def _load(name: str, data: bytes) -> LoadedDocument:
    return load_file(name, data)


def _text(document: LoadedDocument) -> str:
    return "\n\n".join(block.text for block in document.blocks)


def test_docx_headings_code_tables_comments_and_pictures() -> None:
    doc = _load("guide.docx", samples.docx())
    assert doc.title == "Backup guide"  # the core properties' title
    sections = [block.section for block in doc.blocks]
    assert sections == ["Backups", "Backups > Commands"]
    text = _text(doc)
    assert "```\npg_basebackup -D /backup\n    --checkpoint=fast\n```" in text
    assert "| Option | Meaning |\n| --- | --- |\n| -D | target folder |" in text
    assert "Comment (Ana): Check the retention too" in text
    assert "- A list item" in text
    assert doc.metadata["notes"] == ["1 embedded image skipped: pgask reads text, not pictures"]


def test_pptx_slides_are_sections_with_notes_and_tables() -> None:
    doc = _load("review.pptx", samples.pptx())
    assert doc.title == "Quarterly review"
    assert [(b.section, b.page) for b in doc.blocks] == [
        ("Slide 1: Quarterly review", 1),
        ("Slide 2: Numbers", 2),
    ]
    first, second = (block.text for block in doc.blocks)
    assert "Revenue grew\n\n- mostly in the narwhal segment" in first
    assert first.endswith("Speaker notes: Mention the churn numbers")
    assert second == "| Region | Growth |\n| --- | --- |\n| North | 12% |"
    assert "1 embedded image skipped" in doc.metadata["notes"][0]


def test_xlsx_sheets_are_tables_under_their_header_with_comments() -> None:
    doc = _load("orders.xlsx", samples.xlsx(rows=150))
    assert doc.title == "orders"  # no title in the properties: the file name
    orders = next(block.text for block in doc.blocks if block.section == "Orders")
    tables = orders.split("\n\n")
    header = "| Customer | Animal | Amount |\n| --- | --- | --- |"
    # 150 rows: tables of 100 rows, each under the header again; then the comment
    assert [t.startswith(header) for t in tables] == [True, True, False]
    assert "| c0 | axolotl | 0 |" in tables[0] and "| c149 | cat | 223.5 |" in tables[1]
    assert tables[2] == "Comment (B2): Rare species"


def test_odt_outline_code_annotations() -> None:
    doc = _load("install.odt", samples.odt())
    assert [block.section for block in doc.blocks] == ["Installing", "Installing > From source"]
    text = _text(doc)
    assert "Feed the pangolin first.\n\nComment (Bo): Which food?" in text
    assert "```\n./configure\nmake  install\n```" in text  # text:s keeps its spaces
    assert "| Flag | Use |\n| --- | --- |\n| --prefix | where |" in text
    assert "- one step" in text


def test_epub_chapters_in_spine_order_without_the_nav() -> None:
    doc = _load("field.epub", samples.epub())
    assert doc.title == "Field guide"
    assert [block.section for block in doc.blocks] == ["Savanna", "Forest"]
    assert "```sql\nSELECT 1;\n```" in doc.blocks[0].text
    assert "Contents list" not in _text(doc)


def test_rst_through_docutils_without_file_insertion() -> None:
    doc = _load("care.rst", samples.RST.encode())
    assert doc.title == "Animal care"
    assert [block.section for block in doc.blocks] == ["Animal care", "Animal care > Feeding"]
    text = _text(doc)
    assert "```\nfeed(animal, grams=200)\n```" in text
    assert "Use `feed` daily." in text  # a Sphinx role read as inline code
    assert "| Food | Grams |\n| --- | --- |\n| hay | 200 |" in text
    assert "root:" not in text  # `.. include:: /etc/passwd` read nothing


@pytest.mark.parametrize(
    ("name", "data", "table"),
    [
        (
            "a.csv",
            samples.CSV,
            "| name | species | age |\n| --- | --- | --- |\n| mo | wombat | 4 |",
        ),
        ("b.tsv", samples.TSV, "| name | species |\n| --- | --- |\n| bo | tapir |"),
        ("c.csv", 'x,"a, b"\n1,"two\nlines"\n', "| x | a, b |\n| --- | --- |\n| 1 | two lines |"),
    ],
)
def test_delimited_files_are_tables(name: str, data: str, table: str) -> None:
    assert _text(_load(name, data.encode())).startswith(table)


def test_eml_headers_html_body_and_attachments() -> None:
    doc = _load("sighting.eml", samples.eml())
    assert doc.title == "Dugong sighting"
    assert doc.metadata["email_from"] == "Ana <ana@example.org>"
    assert doc.metadata["email_date"] == "2026-12-07T10:00:00+00:00"
    text = _text(doc)
    assert text.startswith("From: Ana <ana@example.org>\nTo: ops@example.org\n")
    assert "A dugong near the pier." in text and "| Time | Count |" in text
    assert "Attachments (not read): photo.png (image/png" in text
    assert doc.metadata["notes"] == ["1 attachment(s) listed, not read"]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("a.docx", b"PK\x03\x04 not really", "not a valid DOCX file (broken ZIP archive"),
        ("a.eml", b"\n\njust text", "not an e-mail message: no headers"),
        ("a.csv", b"", "file is empty"),
        ("a.epub", samples.odt(), "not a valid EPUB file: no part META-INF/container.xml"),
    ],
)
def test_broken_files_name_the_reason(name: str, data: bytes, error: str) -> None:
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        _load(name, data)
    assert caught.value.detail.startswith(error)


def test_suffixes_are_registered() -> None:
    assert [file_format(f"x.{ext}") for ext in ("DOCX", "rst", "tsv", "xlsm")] == [
        "docx",
        "rst",
        "tsv",
        "xlsx",
    ]
