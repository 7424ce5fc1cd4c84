"""Small files of each format, written with the libraries people make them with (python-docx,
python-pptx, openpyxl, the email package) or, for ODT and EPUB, with zipfile as their
standards lay them out. Each holds a word found nowhere else (`WORDS`), so a search can show
the file was read."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

WORDS = {
    "docx": "quokka",
    "pptx": "narwhal",
    "xlsx": "axolotl",
    "odt": "pangolin",
    "epub": "okapi",
    "rst": "capybara",
    "csv": "wombat",
    "tsv": "tapir",
    "eml": "dugong",
}


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def docx() -> bytes:
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE

    doc = Document()
    doc.core_properties.title = "Backup guide"
    doc.add_heading("Backups", level=1)
    para = doc.add_paragraph("Take a base backup of the quokka cluster.")
    doc.add_comment(para.runs, text="Check the retention too", author="Ana")
    doc.add_heading("Commands", level=2)
    code = doc.styles.add_style("Source Code", WD_STYLE_TYPE.PARAGRAPH)
    code.font.name = "Courier New"
    doc.add_paragraph("pg_basebackup -D /backup", style="Source Code")
    doc.add_paragraph("    --checkpoint=fast", style="Source Code")
    table = doc.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ["Option", "Meaning", "-D", "target folder"], strict=True):
        cell.text = text
    doc.add_paragraph("A list item", style="List Bullet")
    doc.add_picture(io.BytesIO(png()))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def pptx() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Quarterly review"
    body = first.placeholders[1].text_frame
    body.text = "Revenue grew"
    sub = body.add_paragraph()
    sub.text = "mostly in the narwhal segment"
    sub.level = 1
    first.notes_slide.notes_text_frame.text = "Mention the churn numbers"
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Numbers"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (row, col), text in zip(
        [(0, 0), (0, 1), (1, 0), (1, 1)], ["Region", "Growth", "North", "12%"], strict=True
    ):
        table.cell(row, col).text = text
    second.shapes.add_picture(io.BytesIO(png()), Inches(5), Inches(5))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx(rows: int = 3) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(["Customer", "Animal", "Amount"])
    for n in range(rows):
        sheet.append([f"c{n}", "axolotl" if n == 0 else "cat", n * 1.5])
    sheet["B2"].comment = Comment("Rare species", "Ana")
    other = book.create_sheet("Totals")
    other.append(["Total", "=SUM(Orders!C2:C4)"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
  xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
  xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3">
<office:automatic-styles>
  <style:style style:name="P1" style:family="paragraph"
    style:parent-style-name="Preformatted_20_Text"/>
</office:automatic-styles>
<office:body><office:text>
  <text:h text:outline-level="1">Installing</text:h>
  <text:p>Feed the pangolin<office:annotation><dc:creator>Bo</dc:creator>
    <text:p>Which food?</text:p></office:annotation> first.</text:p>
  <text:h text:outline-level="2">From source</text:h>
  <text:p text:style-name="P1">./configure</text:p>
  <text:p text:style-name="P1">make<text:s text:c="2"/>install</text:p>
  <text:list><text:list-item><text:p>one step</text:p></text:list-item></text:list>
  <table:table><table:table-row><table:table-cell><text:p>Flag</text:p></table:table-cell>
  <table:table-cell><text:p>Use</text:p></table:table-cell></table:table-row>
  <table:table-row><table:table-cell><text:p>--prefix</text:p></table:table-cell>
  <table:table-cell><text:p>where</text:p></table:table-cell></table:table-row></table:table>
  <text:p><draw:frame><draw:image xlink:href="Pictures/a.png"/></draw:frame></text:p>
</office:text></office:body></office:document-content>
"""


def odt(content: str = _ODT_CONTENT) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
        archive.writestr("Pictures/a.png", png())
    return out.getvalue()


_CHAPTER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p><pre class="language-sql">SELECT 1;</pre></body></html>
"""


def epub(chapter: str | None = None) -> bytes:
    opf = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Field guide</dc:title></metadata>
<manifest>
 <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
 <item id="c1" href="text/c1.xhtml" media-type="application/xhtml+xml"/>
 <item id="c2" href="text/c2.xhtml" media-type="application/xhtml+xml"/>
 <item id="img" href="images/cover.png" media-type="image/png"/>
</manifest>
<spine><itemref idref="nav"/><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>"""
    container = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
</rootfiles></container>"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("OEBPS/content.opf", opf)
        archive.writestr("OEBPS/nav.xhtml", "<html><body><nav>Contents list</nav></body></html>")
        archive.writestr(
            "OEBPS/text/c1.xhtml",
            chapter or _CHAPTER.format(title="Savanna", text="The okapi hides."),
        )
        archive.writestr("OEBPS/text/c2.xhtml", _CHAPTER.format(title="Forest", text="Tall trees."))
        archive.writestr("OEBPS/images/cover.png", png())
    return out.getvalue()


RST = """\
Animal care
===========

The capybara needs water.

Feeding
-------

.. code-block:: python

   feed(animal, grams=200)

Use :func:`feed` daily.

.. include:: /etc/passwd

=====  ======
Food   Grams
=====  ======
hay    200
=====  ======
"""

CSV = "name;species;age\nmo;wombat;4\nkai;koala;7\n"
TSV = "name\tspecies\nbo\ttapir\n"


def eml() -> bytes:
    message = EmailMessage()
    message["From"] = "Ana <ana@example.org>"
    message["To"] = "ops@example.org"
    message["Subject"] = "Dugong sighting"
    message["Date"] = "Mon, 07 Dec 2026 10:00:00 +0000"
    message.set_content("Plain body")
    message.add_alternative(
        "<html><body><h1>Report</h1><p>A dugong near the pier.</p>"
        "<table><tr><th>Time</th><th>Count</th></tr><tr><td>10:00</td><td>1</td></tr></table>"
        "</body></html>",
        subtype="html",
    )
    message.add_attachment(png(), maintype="image", subtype="png", filename="photo.png")
    return bytes(message)


def all_formats() -> dict[str, bytes]:
    """One file of each format, named by its extension."""
    return {
        "guide.docx": docx(),
        "review.pptx": pptx(),
        "orders.xlsx": xlsx(),
        "install.odt": odt(),
        "field.epub": epub(),
        "care.rst": RST.encode(),
        "animals.csv": CSV.encode(),
        "more.tsv": TSV.encode(),
        "sighting.eml": eml(),
    }
