"""HTML to clean text blocks, one per heading path, as a reader sees the page
(docs/decisions/0018-html-as-a-reader-sees-it.md).

- Page furniture goes: the semantic elements (`nav`, `footer`, `aside` but one of
  footnotes, the page's banner `header` but not an article's or a section's, which holds
  its heading; ARIA navigation, banner and content-info roles) and the navigation classes
  of the common doc generators (DocBook, Sphinx and its Furo, Read the Docs and PyData
  themes, MkDocs/Material, Docusaurus, Javadoc, Doxygen, rustdoc, mdBook, GNU Texinfo,
  MediaWiki). The page's main region (`main`, `role="main"`, `article`) is read when it
  has one. End tags a minified page leaves out are implied, and markup of a generator's
  own for code, grids and titles is rewritten as plain HTML, first
  (`ingest.html_generators`).
- Inline elements join as a browser renders them: no space is added around `<code>` or
  `<a>`, runs of whitespace become one space, so "without `FULL`" and "psql." stay whole.
  Inline code keeps its backticks.
- `<pre>` keeps its own characters and line breaks (a highlighter's per-token spans add
  nothing) and becomes a fenced block, with the language its classes name.
- Tables become Markdown tables (a one-column table, such as PostgreSQL's function tables,
  and a note AsciiDoc lays out as a table are read as the blocks of their cells); lists keep
  their markers, an ordered list its numbers as shown; Sphinx API signatures (`dt.sig`)
  become inline code.
- An AsciiDoc man page's NAME line, which sits in the page's header, is read with its
  content.
- The title loses the site's suffix ("venv — Creation of virtual environments — Python 3.11
  documentation" → the page's own heading).
- The share of link text is measured, so a page that is mostly links (an index, a table
  of contents, a site map, a small site's archive), that holds nothing but its tables of
  contents or a sentence introducing them, or that its generator calls a list (a Sphinx
  index, a Docusaurus blog's tag pages) is marked with the kind `links`
  (`page_kind`, which also marks release notes and changelogs `changelog`; `ingest.loaders`
  stores the kind in the document's metadata as `doc_kind`).
- A page's tables of contents are dropped: the generators' (DocBook's `div.toc`, Sphinx's
  toctree, Texinfo's menus) by their markup, any other by what it is, links to the page's
  own sections and little else (SQLite's `div.fancy_toc`; `_anchor_tocs`,
  docs/decisions/0055-hand-made-sites.md).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ingest.html_generators import chrome, contents, leads_elsewhere, rewrite, without_site
from ingest.markdown_text import markdown_table

_DROPPED_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "title",  # read first, as the page's title; in a page without <head> it is no text
    "nav",
    "footer",
    "aside",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "svg",
    "iframe",
]
_DROPPED = ", ".join(
    [
        # ARIA landmarks that are not content
        '[role="navigation"]',
        '[role="banner"]',
        '[role="contentinfo"]',
        '[role="search"]',
        '[aria-hidden="true"]',
        "[hidden]",
        # generic navigation and page chrome
        ".breadcrumb",
        ".breadcrumbs",
        ".skip-link",
        ".sr-only",
        ".visually-hidden",
        ".headerlink",
        ".anchorjs-link",
        ".hash-link",
        ".copybutton",
        ".edit-this-page",
        ".skip-to-content",  # Furo
        ".back-to-top",
        ".md-skip",  # Material for MkDocs
        ".md-top",
        # DocBook (PostgreSQL, GNOME, FreeBSD manuals)
        "div.navheader",
        "div.navfooter",
        # Sphinx
        "div.related",
        "div.sphinxsidebar",
        "div.footer",
        "div.mobile-nav",
        "div.menu-wrapper",
        "div.rst-footer-buttons",
        "div.wy-nav-side",
        "div.bd-sidebar",
        "div.prev-next-area",
        ".bd-sidebar-primary",  # pydata-sphinx-theme
        ".bd-sidebar-secondary",  # "On this page"
        ".bd-header-article",
        ".prev-next-footer",
        # MkDocs and Material for MkDocs
        ".md-header",
        ".md-sidebar",
        ".md-footer",
        ".md-nav",
        ".md-source",
        ".md-search",
        ".md-tabs",
        ".md-content__button",
        # Docusaurus
        ".pagination-nav",
        ".theme-doc-toc-desktop",
        ".theme-doc-toc-mobile",
        ".theme-doc-breadcrumbs",
        ".theme-doc-footer",
        ".theme-edit-this-page",
        ".theme-last-updated",
        ".avatar__photo-link",  # an author's picture, whose alt text repeats the name beside it
        # Javadoc (old and new layouts)
        ".topNav",
        ".subNav",
        ".bottomNav",
        ".fixedNav",
        ".top-nav",
        ".sub-nav",
        ".bottom-nav",
        ".flex-header",
        ".legal-copy",
        ".source-line-no",  # a source listing's line numbers (JDK 8: sourceLineNo)
        ".sourceLineNo",
        # Doxygen
        "#titlearea",
        "#side-nav",
        "#nav-tree",
        "#nav-path",
        ".navpath",
        "#MSearchBox",
        "#MSearchSelectWindow",
        "#MSearchResultsWindow",
        "div.tabs",
        "div.tabs2",
        "div.tabs3",
        "div.summary",
        "hr.footer",
        "address.footer",
        ".permalink",  # the "\u25c6" before a member's title
        "div.dynheader",  # "Inheritance diagram for ...:" and the diagram
        "div.dyncontent",
        "div.ttc",  # a code fragment's hover tooltips
        ".ingroups",  # the groups a page is in, as a breadcrumb in its title
        "tr.inherit",  # inherited members, hidden by its stylesheet until asked for
        "tr.inherit_header img",
        # rustdoc
        ".sidebar",
        ".out-of-band",
        "rustdoc-toolbar",
        "rustdoc-search",
        ".search-form",
        "pre.line-numbers",  # a source listing's line numbers, a <pre> of their own
        ".src-line-numbers",
        ".sub-logo-container",
        ".rightside",  # "1.0.0 \u00b7 source"
        "a.srclink",
        "a.test-arrow",  # "Run" (on the playground)
        "summary.hideme",  # "Expand description"
        ".notable-traits",  # a tooltip
        "div.information > .tooltip",  # "ⓘ" before an example that panics
        ".example-wrap > .tooltip",
        # mdBook: a code example's hidden lines (`# fn main() {`), shown on request
        "pre .boring",
        # MediaWiki (a wiki's pages saved as HTML): "[edit]" in every heading, "From
        # <wiki>", the page's parent, "Jump to: navigation, search", "Retrieved from",
        # the category links, the tools and menus of the Vector skins (old and 2022)
        ".mw-editsection",
        "#siteSub",
        "#contentSub",
        "#contentSub2",
        "#jump-to-nav",
        ".mw-jump",
        ".mw-jump-link",
        ".mw-indicators",
        ".printfooter",
        "#catlinks",
        ".mw-cite-backlink",
        "#mw-navigation",
        ".vector-page-toolbar",
        ".vector-dropdown",
        ".vector-column-end",
    ]
)
# Tables of contents inside the content: dropped, unless nothing else is left (a chapter
# page that is only its TOC is kept whole, and marked `links` by its share of links).
_TOCS = ", ".join(
    [
        "div.toc",  # DocBook
        "div.list-of-tables",
        "div.list-of-figures",
        "div.list-of-examples",
        "div.toctree-wrapper",  # Sphinx
        "div.contents.local",  # reStructuredText `.. contents::`
        "nav.contents",
        ".table-of-contents",  # Docusaurus
    ]
)
_MAIN = ['[role="main"]', "main", "article", "div.body", "div#content", "div.contents"]
# A page's own table of contents in markup no generator rule names (SQLite's
# `div.fancy_toc`, a hand-written site's list of "#section" links): an element whose links
# (at least `_FEW_LINKS`) all lead to places on the page itself and whose text is at least
# `_ANCHOR_TOC_SHARE` link text. A list of members with their descriptions (Javadoc's and
# Doxygen's summaries) is mostly description, and stays.
_ANCHOR_TOC_SHARE = 0.8
_ANCHOR_TOC_TAGS = frozenset({"div", "ul", "ol", "nav", "table", "p"})

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "caption",
    ]
)
# Callout boxes (DocBook, Sphinx, MkDocs, Docusaurus): a heading inside one is its label.
_ADMONITIONS = re.compile(r"^(?:note|warning|tip|caution|important|admonition|callout)$")
# AsciiDoc and Asciidoctor lay a note out as a table: its label in a cell of class `icon`
# ("Note", or an icon's alt text), its text in the next cell. Read as the blocks of its
# cells, like a one-column table, not as a Markdown table headed "| Note | ... |".
_ICON_CELL = "td.icon"
# An AsciiDoc or Asciidoctor man page keeps its NAME section ("git-stash - Stash the changes
# in a dirty working directory away", what `whatis` shows) in the page's header, beside its
# title ("git-stash(1) Manual Page": the `<title>` again), outside its content: read first.
_MAN_NAME = "body.manpage > #header > h2, body.manpage > #header > .sectionbody"
# A reference page's one-line purpose, beside its name: the man page's NAME line ("git-push -
# Update remote refs along with associated objects") and a DocBook refentry's refpurpose
# ("pg_restore — restore a PostgreSQL database from an archive file created by pg_dump").
# The page's title is only the name; the purpose says what the page is about in the words a
# question uses (`HtmlPage.summary`, docs/decisions/0051-page-summary-in-context.md).
_PURPOSE = "body.manpage > #header > .sectionbody p, div.refentry div.refnamediv > p"
# The name before the purpose: "git-push -", "pg_restore —", "CREATE INDEX, DROP INDEX —".
_PURPOSE_NAME = re.compile(r"^.*?\s[-\u2014\u2013]\s")
_FOOTNOTE = "doc-footnote"
_SECTIONING = ["article", "main", "section", "aside", "nav"]
_CODE_TAGS = frozenset({"code", "tt", "kbd", "samp"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_PILCROW = "\u00b6"
_SPACES = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")
_LANGUAGE = re.compile(r"(?:^|\s)(?:language|lang|highlight|brush:?)-?([\w+#.-]+)")
# A title's site suffix: the part after the last em dash, en dash, hyphen, bar or middle dot
# (MkDocs, mdBook and rustdoc write "Page - Site").
_TITLE_PARTS = re.compile(r"\s+[\u2014\u2013|\u00b7-]\s+")
# "Changes" alone is a page's subject as often as a list of them ("Visibility of Data
# Changes" is about triggers, "Tracking changes in a file" is a how-to): it counts first in
# a title, or before "in", "since", "for" and a version ("Changes since Protocol 2.0",
# "Changes in this release"). "News" counts as the whole name of a page ("NEWS", "Project
# news"), not as a word in one ("Reading news feeds").
_CHANGELOG = re.compile(
    r"\b(?:release[ _-]?notes?|change[ _-]?log|what['\u2019]?s[ _-]?new|whatsnew)\b"
    r"|^(?:release|version)[ _-]?v?\d|^changes\b|^(?:[\w.-]+ )?news$"
    r"|\bchanges (?:in|since|for) (?:[\w.+-]+ ){0,2}(?:v?\d|versions?\b|releases?\b)",
    re.IGNORECASE,
)
# A numbered section's number: "E.19. ", "2.4. ", "Chapter 26. ", "Appendix E. ".
_SECTION_NUMBER = re.compile(
    r"^(?:(?:chapter|appendix|part|section)\s+)?[A-Z0-9]+(?:\.[0-9]+)*\.\s+", re.I
)
# A page is "links" (an index, a table of contents, a site map) when it has at least
# _LINKS_MIN links and either LINKS_SHARE of its text is link text, or it has no prose
# (under PROSE_SHARE of its text in paragraphs, outside links) and at most
# _TEXT_PER_LINK other characters per link. Measured on the PostgreSQL and Python manuals
# (docs/decisions/0018-html-as-a-reader-sees-it.md): indexes, module indexes and TOCs
# have 0-36 characters per link and no prose; reference pages 58 and more.
LINKS_SHARE = 0.6
PROSE_SHARE = 0.05
_LINKS_MIN = 20
_TEXT_PER_LINK = 40
# With fewer links (a small site's blog archive, tag list or category page: 4 to 6 links on
# Docusaurus's template, docs/decisions/0050-built-doc-sites.md), a page is "links" when
# FEW_LINKS_SHARE of its text is link text and none of it is prose outside links.
_FEW_LINKS = 3
FEW_LINKS_SHARE = 0.75
# A page whose text, once its tables of contents (of at least `_FEW_LINKS` links) are
# dropped, is at most this many characters (heading included, whitespace not) only says
# what its sections hold: "This chapter explains how the Write-Ahead Log is used to obtain
# efficient, reliable operation." It is a page of links. On PostgreSQL's and m4's manuals
# 170 takes only such sentences (6 and 5 pages); 220 also took descriptions ("dblink is a
# module that supports connections to other PostgreSQL databases...").
_INTRO_CHARS = 170
# Spaces between tags are kept inside these (BeautifulSoup makes them one space elsewhere):
# Doxygen's code lines and Javadoc's signatures are monospaced <div>s. Prose collapses
# them again as it is read.
_KEEP_SPACES = frozenset({"pre", "textarea", "div"})
_NEWLINE = "\x00"  # a <br> inside inline text, made a line break after spaces collapse
# Line ends as an HTML parser reads them (CR LF and a lone CR are LF): AsciiDoc writes CR LF,
# which `<pre>` kept in every line of git's code blocks.
_LINE_END = re.compile(r"\r\n?")


@dataclass
class HtmlPage:
    title: str
    sections: list[tuple[list[tuple[int, str]], list[str]]] = field(default_factory=list)
    links: LinkCounts = field(default_factory=lambda: LinkCounts(0, 0, 0, 0))
    summary: str = ""  # the page's one-line purpose where its markup gives one (`_PURPOSE`)


@dataclass(frozen=True)
class LinkCounts:
    """Characters (without whitespace) of the page's main region: all its text, its link
    text and its prose (paragraph text outside links), and its number of links; `elsewhere`
    when its markup says it only leads to other pages (`html_generators.leads_elsewhere`:
    an index, a redirect), or it holds nothing but its tables of contents (`html_page`) or
    a sentence introducing them (`_INTRO_CHARS`)."""

    text: int
    linked: int
    prose: int
    links: int
    elsewhere: bool = False

    def mostly_links(self) -> bool:
        if self.elsewhere:
            return True
        if not self.text or self.links < _FEW_LINKS:
            return False
        if self.links < _LINKS_MIN:  # a small site's index: only links, no prose
            return self.linked >= FEW_LINKS_SHARE * self.text and not self.prose
        if self.linked >= LINKS_SHARE * self.text:
            return True
        other = self.text - self.linked
        return self.prose < PROSE_SHARE * self.text and other <= _TEXT_PER_LINK * self.links


def _classes(element: Any) -> str:
    value = element.get("class") or []
    return " ".join(value) if isinstance(value, list) else str(value)


def _inline(element: Any, *, code: bool = True) -> str:
    """An element's text as a browser lays it out inline; inline code in backticks."""
    out: list[str] = []
    _inline_parts(element, out, code=code, in_code=False)
    text = _SPACES.sub(" ", "".join(out)).replace(_PILCROW, "")
    return "\n".join(line.strip() for line in text.split(_NEWLINE)).strip()


def _inline_parts(element: Any, out: list[str], *, code: bool, in_code: bool) -> None:
    from bs4.element import Comment, NavigableString, Tag

    for child in element.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            out.append(str(child))
        elif isinstance(child, Tag):
            if child.name == "br":
                out.append(_NEWLINE)
            elif child.name == "img":
                out.append(str(child.get("alt") or ""))
            elif child.name in _CODE_TAGS and code and not in_code:
                inner: list[str] = []
                _inline_parts(child, inner, code=code, in_code=True)
                text = _SPACES.sub(" ", "".join(inner)).strip()
                out.append(f"`{text}`" if text else "")
            elif child.name in _BLOCK_TAGS:
                out.append(" ")
                _inline_parts(child, out, code=code, in_code=in_code)
                out.append(" ")
            else:
                _inline_parts(child, out, code=code, in_code=in_code)


def _code_block(pre: Any) -> str:
    for br in pre.find_all("br"):  # rustdoc's `where` clauses break lines with <br>
        br.replace_with("\n")
    code = pre.get_text().replace("\u00a0", " ").strip("\n")
    if not code.strip():
        return ""
    language = ""
    for element in (pre.find("code"), pre, pre.parent, pre.parent and pre.parent.parent):
        if element is not None and (match := _LANGUAGE.search(_classes(element))):
            language = match[1]
            break
    language = "" if language in ("default", "none", "text", "notranslate") else language
    fence = "````" if "```" in code else "```"
    return f"{fence}{language}\n{code}\n{fence}"


def _cell(cell: Any) -> str:
    return _inline(cell).replace("\n", " ")


def _columns(table: Any) -> int:
    """The most cells a row of this table (not of a nested one) has."""
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    return max((len(tr.find_all(["td", "th"], recursive=False)) for tr in rows), default=0)


def _table(table: Any) -> str:
    """A Markdown table: the first row is its header (the header a reader sees)."""
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table is read as its cell's text
        cells = [_cell(c) for c in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    caption = table.find("caption")
    title = _inline(caption) if caption is not None else ""
    return (title + "\n\n" if title else "") + markdown_table(rows)


class _Reader:
    """Walks block elements in order, collecting paragraphs under the current heading path."""

    def __init__(self) -> None:
        self.page = HtmlPage("")
        self.path: list[tuple[int, str]] = []
        self.parts: list[str] = []
        self.first_heading = ""

    def flush(self) -> None:
        if self.parts:
            self.page.sections.append((self.path, self.parts))
        self.parts = []

    def add(self, text: str) -> None:
        if text.strip():
            self.parts.append(text.strip())

    def heading(self, element: Any) -> None:
        text = _inline(element, code=False).replace("\n", " ")
        if not text:
            return
        if element.find_parent(class_=_ADMONITIONS) is not None:
            self.add(text)  # "Note", "Warning": a label, not a section the page goes on in
            return
        self.flush()
        level = int(element.name[1])
        self.path = [(lvl, h) for lvl, h in self.path if lvl < level] + [(level, text)]
        self.first_heading = self.first_heading or text

    def block(self, element: Any) -> None:
        """Read `element` (a block container) into paragraphs."""
        from bs4.element import Comment, NavigableString, Tag

        run: list[Any] = []  # inline children waiting to become one paragraph

        def end_run() -> None:
            if run:
                holder = _Holder(run)
                self.add(_inline(holder))
                run.clear()

        for child in list(element.children):
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString) or (
                isinstance(child, Tag) and child.name not in _BLOCK_TAGS
            ):
                run.append(child)
                continue
            end_run()
            self.element(child)
        end_run()

    def element(self, child: Any) -> None:
        name = child.name
        if name in _HEADINGS:
            self.heading(child)
        elif name == "pre":
            self.add(_code_block(child))
        elif name == "table" and (_columns(child) <= 1 or child.select_one(_ICON_CELL)):
            for cell in child.find_all(["td", "th"]):  # a list or a note: read as blocks
                if cell.find_parent("table") is child:
                    self.block(cell)
        elif name == "table":
            self.add(_table(child))
        elif name in ("ul", "ol", "menu"):
            markers = _markers(child) if name == "ol" else itertools.repeat("- ")
            items = child.find_all("li", recursive=False)
            for item, marker in zip(items, markers, strict=False):
                self.list_item(item, marker)
        elif name == "dt":
            text = _inline(child)
            if "sig" in _classes(child).split() and text:
                text = "`" + text.replace("`", "") + "`"
            self.add(text)
        elif name == "hr":
            return
        else:
            self.block(child)

    def list_item(self, item: Any, marker: str) -> None:
        """A list item's first paragraph carries the marker; nested blocks follow it. An
        item holding a heading is layout (Javadoc lists its members), and a code block
        or table keeps its first line."""
        start, path = len(self.parts), self.path
        self.block(item)
        if (
            len(self.parts) > start
            and self.path is path
            and not self.parts[start].startswith(("```", "|"))
        ):
            self.parts[start] = marker + self.parts[start]


def _markers(ol: Any) -> Iterator[str]:
    """An ordered list's markers as a browser numbers it: from its `start`, in letters for
    `type="a"` or `"A"` (callout lists refer to their items by these numbers)."""
    start = str(ol.get("start") or "1").strip()
    number = int(start) if start.lstrip("-").isdigit() else 1
    kind = str(ol.get("type") or "1")
    for n in itertools.count(number):
        if kind in ("a", "A") and 1 <= n <= 26:
            yield chr(ord(kind) + n - 1) + ". "
        else:
            yield f"{n}. "


class _Holder:
    """A run of inline nodes read as one element by `_inline`."""

    def __init__(self, children: list[Any]) -> None:
        self.children = children


def _affix(text: str, part: str) -> bool:
    return text.startswith(part) or text.endswith(part)


def _page_title(raw: str, first_heading: str) -> str:
    """The page's own title: its first heading when one of heading and `<title>` starts
    or ends with the other (in any case), else the `<title>` without its last " — " part
    (the site's name)."""
    raw = _SPACES.sub(" ", raw).strip()
    heading = first_heading.strip()
    folded, own = raw.casefold(), heading.casefold()
    if own and (not raw or _affix(folded, own) or _affix(own, folded)):
        return heading
    parts = list(_TITLE_PARTS.finditer(raw))
    return raw[: parts[-1].start()] if parts else raw or heading


def _banners(soup: Any) -> list[Any]:
    """The `<header>`s that are the page's banner: not those inside an `article`, `main`,
    `section`, `aside` or `nav` (HTML-AAM maps those to no landmark), which hold that
    part's own heading (Docusaurus puts a page's `<h1>` in its article's `<header>`)."""
    return [h for h in soup("header") if h.find_parent(_SECTIONING) is None]


def _footnotes(element: Any) -> bool:
    """An `<aside>` of footnotes (docutils 0.18 and later writes Sphinx's footnotes as
    `aside.footnote-list` of `role="doc-footnote"`): text the page cites, not a sidebar."""
    if element.name != "aside":
        return False
    return element.get("role") == _FOOTNOTE or element.find(role=_FOOTNOTE) is not None


def _anchor_tocs(soup: Any) -> list[Any]:
    """The outermost elements that are tables of contents of the page itself
    (`_ANCHOR_TOC_SHARE`): only the ancestors of its "#fragment" links are looked at."""
    candidates: dict[int, Any] = {}
    for link in soup.select('a[href^="#"]'):
        for parent in link.parents:
            if parent.name in ("body", "html", "[document]") or parent.name in _SECTIONING[:3]:
                break
            if parent.name in _ANCHOR_TOC_TAGS:
                candidates[id(parent)] = parent
    links = {id(c): n for c in candidates.values() if (n := _anchor_toc(c))}
    # each table once, as the smallest element that holds all its links: SQLite's
    # `div.fancy_toc` (its "Table Of Contents" toggle and the list), not the box around it
    # that also holds the page's title
    smallest = [
        c
        for c in candidates.values()
        if id(c) in links
        and not any(links.get(id(d)) == links[id(c)] for d in c.find_all(_ANCHOR_TOC_TAGS))
    ]
    chosen = {id(c) for c in smallest}
    return [c for c in smallest if not any(id(p) in chosen for p in c.parents)]


def _anchor_toc(element: Any) -> int:
    """How many links the element holds when it is a table of contents of the page; 0 when
    it is not."""
    hrefs = [str(a.get("href", "")) for a in element.find_all("a", href=True)]
    if len(hrefs) < _FEW_LINKS or not all(h.startswith("#") and len(h) > 1 for h in hrefs):
        return 0
    links = element.find_all("a")
    text = _chars(element)
    toc = text > 0 and sum(_chars(a) for a in links) >= _ANCHOR_TOC_SHARE * text
    return len(links) if toc else 0


def _chars(element: Any) -> int:
    return len(_SPACES.sub("", element.get_text()))


def _link_counts(root: Any) -> LinkCounts:
    links = root.find_all("a")
    prose = sum(_chars(p) - sum(_chars(a) for a in p.find_all("a")) for p in root.find_all("p"))
    return LinkCounts(_chars(root), sum(_chars(a) for a in links), prose, len(links))


def page_kind(title: str, name: str, links: LinkCounts | None = None) -> str:
    """`links` for an index or table of contents, `changelog` for release notes, else ''."""
    if links is not None and links.mostly_links():
        return "links"
    path = name.rsplit(".", 1)[0].replace("-", " ")  # folders count: whatsnew/3.11.html
    # "Release 15.2" at the start of the file's own name or of the title without its
    # section number: what an ingested folder's name ("html/release-15-2.html") or a
    # numbered manual ("E.19. Release 15.2") puts before it hides it from `^release`.
    stem = path.rsplit("/", 1)[-1]
    unnumbered = _SECTION_NUMBER.sub("", title)
    if any(_CHANGELOG.search(text) for text in (title, path, stem, unnumbered)):
        return "changelog"
    return ""


def html_page(text: str) -> HtmlPage:
    text = _LINE_END.sub("\n", text)
    page = _read(text, drop_tocs=True)
    if not page.sections:  # only a table of contents: read it after all, as a page of links
        page = _read(text, drop_tocs=False)
        page.links = replace(page.links, elsewhere=True)
    return page


def _read(text: str, *, drop_tocs: bool) -> HtmlPage:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser", preserve_whitespace_tags=_KEEP_SPACES)
    raw_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    raw_title = without_site(soup, _SPACES.sub(" ", raw_title))
    elsewhere = leads_elsewhere(soup)  # its <head> is about to go
    summary = _summary(soup)
    dropped = [
        *(t for t in soup(_DROPPED_TAGS) if not _footnotes(t)),
        *soup.select(_DROPPED),
        *_banners(soup),
        *chrome(soup),
    ]
    tocs = [*soup.select(_TOCS), *contents(soup), *_anchor_tocs(soup)] if drop_tocs else []
    toc_links = sum(len(toc.find_all("a")) for toc in tocs)
    for tag in [*dropped, *tocs]:
        if tag.name not in ("html", "body"):
            tag.decompose()
    rewrite(soup)  # rustdoc's, Javadoc's and Doxygen's own markup, as plain HTML
    body = soup.body or soup
    root = next((m for s in _MAIN if (m := body.select_one(s)) is not None), None)
    if root is None or not root.get_text(strip=True):
        root = body
    reader = _Reader()
    for element in soup.select(_MAN_NAME) if root is not body else []:
        reader.element(element)
    reader.block(root)
    reader.flush()
    reader.page.title = _page_title(raw_title, reader.first_heading)
    counts = _link_counts(root)
    signpost = toc_links >= _FEW_LINKS and counts.text <= _INTRO_CHARS
    reader.page.links = replace(counts, elsewhere=elsewhere or signpost)
    reader.page.summary = summary
    return reader.page


def _summary(soup: Any) -> str:
    """The reference page's purpose without its name, as one line ("" when the page has
    none, or only a name). A page of several reference entries (a DocBook book or part
    written as one page) has none: the first entry's purpose is not the page's."""
    elements = soup.select(_PURPOSE)
    if len(elements) != 1:
        return ""
    (element,) = elements
    line = _SPACES.sub(" ", element.get_text(" ", strip=True)).strip()
    purpose = _PURPOSE_NAME.sub("", line, count=1).strip()
    return purpose if purpose != line else ""
