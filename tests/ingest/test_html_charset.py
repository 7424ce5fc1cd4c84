"""HTML in a legacy charset is read as a browser reads it: its `<meta>` charset, else
windows-1252; UTF-8 stays UTF-8 whatever a stale `<meta>` says."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from ingest.loaders import decode_html, load_file


def _page(charset_tag: str, title: str, body: str) -> str:
    return f"<html><head>{charset_tag}<title>{title}</title></head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("tag", "encoding", "title", "text"),
    [
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">',
            "latin-1",
            "Caf\u00e9",
            "na\u00efve",
        ),
        (
            '<meta charset="windows-1251">',
            "cp1251",
            "\u041c\u0438\u0440",
            "\u041f\u0440\u0438\u0432\u0435\u0442",
        ),
        ("", "cp1252", "Caf\u00e9", "na\u00efve \u20ac"),  # nothing declared: the web's default
    ],
)
def test_a_legacy_page_is_read_in_its_declared_charset(
    tag: str, encoding: str, title: str, text: str
) -> None:
    page = _page(tag, title, f"<p>{text}</p>")
    data = page.encode(encoding)
    assert decode_html(data) == page
    loaded = load_file("legacy.html", data)
    assert text in "\n".join(block.text for block in loaded.blocks)
    assert loaded.title == title


def test_utf8_wins_over_a_stale_meta_charset() -> None:
    page = _page('<meta charset="iso-8859-1">', "T", "<p>\u00fcber \u2013 \u65e5\u672c</p>")
    assert decode_html(page.encode("utf-8")) == page


def test_a_charset_that_cannot_read_the_page_is_a_clear_error() -> None:
    data = _page('<meta charset="x-no-such-charset">', "T", "<p>x \xe9</p>").encode("latin-1")
    with pytest.raises(InvalidInput, match=r"not valid UTF-8 .*'x-no-such-charset' does not"):
        decode_html(data)
    # a <meta> saying UTF-16 on a page without NULs is wrong: read as the web's default
    page = _page('<meta charset="utf-16">', "T", "<p>x \xe9</p>")
    assert decode_html(page.encode("cp1252")) == page
    with pytest.raises(InvalidInput, match="NUL"):
        decode_html(b"<p>\x00</p>")
