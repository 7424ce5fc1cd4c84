"""Markup of doc generators that the HTML reader (`ingest.html_text`) would misread,
rewritten as the plain HTML it reads well: code as `<pre>`, grids as `<table>`, the page's
title as its `<h1>` (docs/decisions/0047-api-reference-generators.md).

- End tags HTML lets a page leave out (`</li>`, `</td>`, `</tr>`), as minified pages do
  (Docusaurus), are implied as a browser implies them (docs/decisions/0050-built-doc-sites.md).

- Javadoc (JDK 16 and later) lays its summary tables out as a grid of `<div>`s
  (`div.summary-table.three-column-summary`): a `<table>` again, so they stay Markdown
  tables. Its member and type signatures (`div.member-signature`) are monospaced text
  with its own line breaks: a Java code block.
- Doxygen writes code fragments and source listings as one `div.line` per line (with line
  numbers), member prototypes as a layout table (`div.memproto`: name, "(", one parameter
  per row, ")", labels such as "virtual"), and the page's title in a `div.title` outside
  its content: code blocks, and an `<h1>` at the start of the content.
- A link whose whole text is "Read more" (rustdoc) or "More..." (Doxygen) points
  elsewhere and says nothing: removed.

Navigation and page chrome are not here: `html_text` drops them by selector, and asks
`chrome` and `contents` for what only one generator's pages mean as chrome (GNU Texinfo's
`div.header` is its Next / Previous / Up bar; on other sites it may be content).
"""

from __future__ import annotations

import re
from typing import Any

_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")
_MORE = re.compile(
    r"^\s*(?:Read more|More\.\.\.|Go to the (?:source code|documentation) of this file\.)\s*$"
)
_REFRESH = re.compile(r"^refresh$", re.IGNORECASE)
_ROBOTS = re.compile(r"^robots$", re.IGNORECASE)
_REDIRECT = re.compile(r"^\s*0+\s*[;,]\s*\S")  # no delay, and a URL
_JAVADOC_SITE = re.compile(r"\s+\([^()]*\)$")
# <body class="..."> of Javadoc's (JDK 16 and later) indexes
_JAVADOC_INDEXES = {
    "index-page",
    "all-classes-index-page",
    "all-packages-index-page",
    "tree-page",
    "package-tree-page",
}
# <html class="..."> of Docusaurus's lists of posts and tags (its `ThemeClassNames.page`):
# a blog's index, tag and author pages repeat its posts' first paragraphs
_DOCUSAURUS_LISTS = {
    "blog-list-page",
    "blog-tags-list-page",
    "blog-tags-post-list-page",
    "blog-authors-list-page",
    "blog-authors-posts-page",
    "docs-tags-list-page",
    "docs-tags-doc-list-page",
}
# <html class="..."> of every page of Docusaurus's docs, a doc's or a category's
# (`ThemeClassNames.page.docsDocPage`), and the element holding a doc's Markdown
# (`ThemeClassNames.docs.docMarkdown`)
_DOCUSAURUS_DOCS = "docs-doc-page"
_DOCUSAURUS_MARKDOWN = ".theme-doc-markdown"
# Sphinx's general and module indexes (any theme)
_SPHINX_INDEXES = "table.genindextable, table.modindextable"
# The open elements a start tag closes when their end tags were left out (HTML's "optional
# tags"), where `html.parser` would nest them: a row closes a cell and a row.
_CELLS = frozenset({"td", "th"})
_CLOSES = {
    "li": frozenset({"li"}),
    "dt": frozenset({"dt", "dd"}),
    "dd": frozenset({"dt", "dd"}),
    "p": frozenset({"p"}),
    "td": _CELLS,
    "th": _CELLS,
    "tr": _CELLS | {"tr"},
    "tbody": _CELLS | {"tr", "thead", "tbody", "tfoot"},
    "tfoot": _CELLS | {"tr", "thead", "tbody"},
}
# GNU Texinfo's makeinfo (5 to 7), which names itself in `<meta name="Generator">` or a
# comment: each node's Next / Previous / Up bar, above its text and again below it
# (`div.header`; `div.nav-panel` from 7.0), and the pilcrow that links each heading and
# definition (`a.copiable-anchor`; `a.copiable-link` in 7.x).
_GENERATOR = re.compile(r"^generator$", re.IGNORECASE)
_TEXINFO_MADE = re.compile(r"Created by (?:GNU )?(?:Texinfo|texi2any)", re.IGNORECASE)
_TEXINFO_CHROME = "div.header, div.nav-panel, a.copiable-anchor, a.copiable-link"
# MediaWiki, which names itself in `<meta name="generator" content="MediaWiki 1.41.0">`:
# what it keeps out of print (`.noprint`: navigation boxes, template links) and the
# reference marks ("[1]") that read like an answer's citations; the references stay
_MEDIAWIKI_CHROME = ".noprint, sup.reference"
# Its tables of contents, dropped as other generators' are (a page holding nothing else is
# read whole): a node's menu of the nodes under it (`table.menu`; `ul.section-toc` in 6.x,
# `ul.mini-toc` in 7.x) and the Top page's contents
_TEXINFO_CONTENTS = ", ".join(
    [
        "table.menu",
        "ul.section-toc",
        "ul.mini-toc",
        "div.contents",
        "div.shortcontents",
        "div.region-contents",
        "div.region-shortcontents",
        "h2.contents-heading",
        "h2.shortcontents-heading",
    ]
)
# Its index of concepts, functions, variables... (`table.index-cp` in 5.x and 6.x,
# `table.cp-entries-printindex` in 7.x): a page of links
_TEXINFO_INDEXES = 'table[class^="index-"], table[class$="-entries-printindex"], div.printindex'
# "GNU Aspell 0.60.8: Basic Usage" before 6.0 (from 6.0 the manual follows in parentheses)
_TEXINFO_MANUAL_BEFORE = re.compile(r"^[^:]+:\s+")
_JAVADOC_BLOCKS = {"parameters", "exceptions", "type-parameters-long"}
_JAVADOC_COLUMNS = {"two-column-summary": 2, "three-column-summary": 3, "four-column-summary": 4}


def rewrite(soup: Any) -> None:
    """Rewrite `soup` in place (after its navigation is dropped)."""
    _close_implied(soup)
    for link in soup.find_all("a", string=_MORE):
        link.decompose()
    for grid in soup.select("div.summary-table"):
        _javadoc_grid(soup, grid)
    for items in soup.select("div.item-table, ul.item-table"):
        _rustdoc_items(soup, items)
    for signature in soup.select("div.member-signature, div.type-signature"):
        signature.replace_with(_pre(soup, _javadoc_signature(signature), "java"))
    for fragment in soup.select("div.fragment"):
        fragment.replace_with(_pre(soup, _doxygen_lines(fragment)))
    for prototype in soup.select("div.memproto"):
        _doxygen_prototype(soup, prototype)
    _doxygen_title(soup)


def _close_implied(soup: Any) -> None:
    """End tags that HTML lets a page leave out (`</li>`, `</td>`, `</tr>`, `</p>`...) and
    minifiers do leave out (Docusaurus), which `html.parser` does not imply: an element
    read into one its start tag closes (an item into the previous item, a cell into the
    previous cell, a row into the last cell, a paragraph into a paragraph) goes after it,
    as a browser places it, and so does everything read into that one after it (the
    closed element ended where this one began): their order stays the page's."""
    for element in soup.find_all(list(_CLOSES)):
        closes = _CLOSES[element.name]
        while element.parent is not None and element.parent.name in closes:
            closed = element.parent
            for node in [element, *element.next_siblings]:
                closed.insert_after(node.extract())
                closed = node


def leads_elsewhere(soup: Any) -> bool:
    """A page whose markup says it only leads to others: an index Javadoc calls one (its
    index of every name quotes each one's summary, so it has as much text per link as a
    class page; its lists of classes, packages and their hierarchy), a Sphinx index, a
    Docusaurus list of blog posts or tags (`_DOCUSAURUS_LISTS`) or a category's generated
    index (`_docusaurus_category`), or a redirect, an immediate `<meta
    http-equiv="refresh">` (rustdoc writes one for each re-exported item, 9,962 in the
    standard library's docs; mdBook one for each moved chapter), or a page kept out of
    search (`kept_out_of_search`)."""
    body, html = soup.body, soup.html
    if body is not None and not _JAVADOC_INDEXES.isdisjoint(body.get("class") or []):
        return True
    if html is not None and not _DOCUSAURUS_LISTS.isdisjoint(html.get("class") or []):
        return True
    if _docusaurus_category(soup):
        return True
    if soup.select_one(_SPHINX_INDEXES) is not None:
        return True
    if _is_texinfo(soup) and soup.select_one(_TEXINFO_INDEXES) is not None:
        return True
    refresh = soup.find("meta", attrs={"http-equiv": _REFRESH})
    if refresh is not None and _REDIRECT.match(str(refresh.get("content", ""))):
        return True
    return kept_out_of_search(soup)


def _docusaurus_category(soup: Any) -> bool:
    """A Docusaurus category's generated index (`"link": {"type": "generated-index"}` in its
    `_category_.json`): only the category's title, its description if it has one, and a card
    for each of its docs (a link holding the doc's title and its description again, as a
    `<p>`, which `LinkCounts` counts as prose). Docusaurus gives it no class of its own: its
    `<html>` is a doc's without `docs-doc-id-...`, and `generatedIndexPage_vN6x` is a CSS
    module's hashed name. So it is known by what it lacks: a docs page without
    `_DOCUSAURUS_MARKDOWN`, where every doc's own text is rendered. A doc that shows the same
    cards in its text (`<DocCardList />`) has it, and its link counts judge it."""
    html = soup.html
    classes = (html.get("class") or []) if html is not None else []
    return _DOCUSAURUS_DOCS in classes and soup.select_one(_DOCUSAURUS_MARKDOWN) is None


def kept_out_of_search(soup: Any) -> bool:
    """A page its author keeps out of search engines (`<meta name="robots"
    content="noindex">`, as the web source reads it): mdBook's print.html is the whole book
    again in one page (1,418 chunks beside the chapters' 1,417 in the Rust book), and
    would split every question's hits between a chapter and its copy."""
    robots = soup.find("meta", attrs={"name": _ROBOTS})
    words = (
        set(str(robots.get("content", "")).lower().replace(",", " ").split()) if robots else set()
    )
    return bool(words & {"noindex", "none"})


def chrome(soup: Any) -> list[Any]:
    """The elements of `soup` that its generator writes as navigation, where the same
    markup on another site may be content: Texinfo's node bars and pilcrows, MediaWiki's
    print-hidden boxes and reference marks."""
    if _is_texinfo(soup):
        return list(soup.select(_TEXINFO_CHROME))
    if _is_mediawiki(soup):
        return list(soup.select(_MEDIAWIKI_CHROME))
    return []


def contents(soup: Any) -> list[Any]:
    """The tables of contents of `soup` that only its generator's markup tells apart:
    Texinfo's menus and `div.contents` (Doxygen's holds a page's text)."""
    return soup.select(_TEXINFO_CONTENTS) if _is_texinfo(soup) else []


def without_site(soup: Any, title: str) -> str:
    """The `<title>` without the site's name where the generator's markup says which part
    it is: Javadoc's last "(Apache Commons Lang 3.12.0 API)", Doxygen's "Project: " (the
    project's name in its title area), Texinfo's manual, in its last parentheses from 6.0
    ("Dnl (GNU M4 1.4.19 macro processor)") and before a colon earlier ("GNU Aspell 0.60.8:
    Basic Usage"): the node's own name is left."""
    if _is_javadoc(soup) and (suffix := _JAVADOC_SITE.search(title)):
        return title[: suffix.start()]
    if _is_texinfo(soup):
        if node := _before_last_parentheses(title):
            return node
        manual = _TEXINFO_MANUAL_BEFORE.search(title)
        return title[manual.end() :] if manual and title[manual.end() :].strip() else title
    project = soup.select_one("#projectname")
    if project is not None:
        number = project.select_one("#projectnumber")
        name = project.get_text().replace(number.get_text() if number else "", "").strip()
        return title.removeprefix(f"{name}: ") if name else title
    return title


def _is_javadoc(soup: Any) -> bool:
    """Javadoc names itself in a generator `<meta>` (JDK 9 and later) or a comment (JDK 8)."""
    from bs4.element import Comment

    meta = soup.find("meta", attrs={"name": "generator"})
    if meta is not None:
        return str(meta.get("content", "")).startswith("javadoc")
    comment = soup.find(string=lambda s: isinstance(s, Comment) and "Generated by javadoc" in s)
    return comment is not None


def _before_last_parentheses(title: str) -> str:
    """The title before its last parenthesised part, nested ones included ("Advanced
    Plotting (GNU Octave (version 7.3.0))": "Advanced Plotting"); "" when it has none."""
    text = title.rstrip()
    if not text.endswith(")"):
        return ""
    depth = 0
    for at in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[at], 0)
        if depth == 0:
            return text[:at].strip() if text[:at].endswith((" ", "\t")) else ""
    return ""


def _is_mediawiki(soup: Any) -> bool:
    meta = soup.find("meta", attrs={"name": _GENERATOR})
    return meta is not None and str(meta.get("content", "")).startswith("MediaWiki")


def _is_texinfo(soup: Any) -> bool:
    """makeinfo names itself in `<meta name="Generator" content="makeinfo">` (Texinfo 5 and
    6; "texi2any" in 7) and in a "Created by GNU Texinfo 6.8" comment ("Created by
    texinfo" in 7) right inside `<html>`, where alone it is looked for: every page asks."""
    from bs4.element import Comment

    meta = soup.find("meta", attrs={"name": _GENERATOR})
    if meta is not None and str(meta.get("content", "")).startswith(("makeinfo", "texi2any")):
        return True
    top = [*soup.contents, *(soup.html.contents if soup.html is not None else [])]
    return any(isinstance(node, Comment) and _TEXINFO_MADE.search(node) for node in top)


def _pre(soup: Any, code: str, language: str = "") -> Any:
    pre = soup.new_tag("pre", attrs={"class": f"language-{language}"} if language else {})
    pre.string = code
    return pre


def _javadoc_grid(soup: Any, grid: Any) -> None:
    """A grid of header and cell `<div>`s, a row every `width` of them, as a `<table>`."""
    classes = grid.get("class") or []
    width = next((n for name, n in _JAVADOC_COLUMNS.items() if name in classes), 0)
    cells = grid.find_all("div", recursive=False)
    if not width or not cells:
        return
    table = soup.new_tag("table")
    for start in range(0, len(cells), width):
        row = soup.new_tag("tr")
        for cell in cells[start : start + width]:
            cell.name = "th" if "table-header" in (cell.get("class") or []) else "td"
            row.append(cell.extract())
        table.append(row)
    grid.replace_with(table)


def _rustdoc_items(soup: Any, items: Any) -> None:
    """A module's items, a row (`div.item-row`, or `li` since Rust 1.68) of name and
    summary each, as a `<table>`; a badge ("Experimental") is a word of its own."""
    table = soup.new_tag("table")
    for item in items.find_all(["div", "li"], recursive=False):
        for badge in item.select(".stab"):
            badge.insert_before(" ")
        row = soup.new_tag("tr")
        for cell in item.find_all("div", recursive=False):
            cell.name = "td"
            row.append(cell.extract())
        table.append(row)
    items.replace_with(table)


def _javadoc_signature(signature: Any) -> str:
    """The signature's text; the parameter and exception lists are blocks where they
    start, so their lines stay aligned under their first one."""
    from bs4.element import Tag

    text = ""
    for child in signature.children:
        part = child.get_text()
        if isinstance(child, Tag) and _JAVADOC_BLOCKS.intersection(child.get("class") or []):
            column = len(text) - (text.rfind("\n") + 1)
            part = part.replace("\n", "\n" + " " * column)
        text += part
    return text


def _doxygen_lines(fragment: Any) -> str:
    """A fragment's lines without their numbers (Doxygen 1.8 puts a no-break space after
    the number, 1.9 nothing)."""
    lines = []
    for line in fragment.select("div.line"):
        number = line.find(class_="lineno")
        if number is not None:
            number.decompose()
        text = line.get_text()
        lines.append(text[1:] if number is not None and text.startswith("\u00a0") else text)
    return "\n".join(lines)


def _doxygen_prototype(soup: Any, prototype: Any) -> None:
    """`int mdb_env_open (MDB_env * env,` then one parameter a line, aligned under the
    first, the closing parenthesis on the last; labels ("virtual") after the block."""
    lines: list[str] = []
    for row in prototype.select("table.memname tr"):
        text = _SPACES.sub(" ", "".join(c.get_text() for c in row.find_all("td"))).strip()
        if lines and text.startswith(")"):
            lines[-1] += text
        elif lines and text:
            lines.append(" " * (lines[0].find("(") + 1) + text)
        elif text:
            lines.append(text)
    labels = [label.get_text(strip=True) for label in prototype.select(".mlabel")]
    prototype.insert_before(_pre(soup, "\n".join(lines)))
    if labels:
        prototype.insert_before(_labels(soup, labels))
    prototype.decompose()


def _labels(soup: Any, labels: list[str]) -> Any:
    note = soup.new_tag("p")
    note.string = " ".join(f"[{label}]" for label in labels)
    return note


def _doxygen_title(soup: Any) -> None:
    title = soup.select_one("div.headertitle div.title")
    contents = soup.select_one("div.contents")
    if title is None or contents is None or not contents.get_text(strip=True):
        return
    labels = [label.extract().get_text(strip=True) for label in title.select(".mlabel")]
    title.name = "h1"
    contents.insert(0, title.extract())
    if labels:  # "abstract", "final", "template": after the title, as a prototype's
        title.insert_after(_labels(soup, labels))
