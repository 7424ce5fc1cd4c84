"""Pages no generator rule knows: a site's own markup. A page's table of contents of links to
its own sections goes (whatever its classes), a list of members with their descriptions
stays. The excerpt is trimmed from SQLite's documentation (Debian 12's sqlite3-doc
3.40.1, /usr/share/doc/sqlite3/eqp.html), whose HTML SQLite's own Tcl scripts write; its
site header, which every page repeats, is cut by the ingest run (`ingest.repeated`)."""

from __future__ import annotations

from ingest.loaders import LoadedDocument, load_file

SQLITE_EQP = """<!DOCTYPE html>
<html><head>
<meta http-equiv="content-type" content="text/html; charset=UTF-8">
<link href="sqlite.css" rel="stylesheet">
<title>EXPLAIN QUERY PLAN</title>
</head>
<body>
<div class=nosearch>
<a href="index.html"><img class="logo" src="images/sqlite370_banner.gif" alt="SQLite"></a>
<div class="tagline desktoponly">Small. Fast. Reliable.<br>Choose any three.</div>
<div class="menu mainmenu"><ul>
<li><a href="index.html">Home</a>
<li class='wideonly'><a href='about.html'>About</a>
<li class='desktoponly'><a href="docs.html">Documentation</a>
</ul></div>
</div>
<div class=fancy>
<div class=nosearch>
<div class="fancy_title">
EXPLAIN QUERY PLAN
</div>
<div class="fancy_toc">
<a onclick="toggle_toc()">
<span class="fancy_toc_mark" id="toc_mk">&#x25ba;</span>
Table Of Contents
</a>
<div id="toc_sub"><div class="fancy-toc1"><a href="#the_explain_query_plan_command">1. The
EXPLAIN QUERY PLAN Command</a></div>
<div class="fancy-toc2"><a href="#table_and_index_scans">1.1. Table and Index Scans</a></div>
<div class="fancy-toc2"><a href="#temporary_sorting_b_trees">1.2. Temporary Sorting
B-Trees</a></div>
</div>
</div>
</div>
<h1 id="the_explain_query_plan_command"><span>1. </span>The EXPLAIN QUERY PLAN Command</h1>
<p><b>Warning: The data returned by the EXPLAIN QUERY PLAN command is intended for
interactive debugging only.</b></p>
<h2 id="table_and_index_scans"><span>1.1. </span>Table and Index Scans</h2>
<p>When processing a SELECT (or other) statement, SQLite may retrieve data from database
tables in a variety of ways.</p>
<table>
<tr><td><a href="#scan">SCAN</a></td><td>The table is read from its first row to its last, in
the order of its rowids, as no index helps the query.</td></tr>
<tr><td><a href="#search">SEARCH</a></td><td>Only the rows an index finds are read: the
query's WHERE clause names the index's columns.</td></tr>
<tr><td><a href="#covering">COVERING INDEX</a></td><td>The index holds every column the query
reads, so the table itself is never read.</td></tr>
</table>
<h2 id="temporary_sorting_b_trees"><span>1.2. </span>Temporary Sorting B-Trees</h2>
<p>If a SELECT statement contains an ORDER BY, GROUP BY or DISTINCT clause, SQLite may need
to use a temporary b-tree structure to sort the output rows.</p>
</div>
</body></html>
"""


def _text(doc: LoadedDocument) -> str:
    return "\n\n".join(b.text for b in doc.blocks)


def test_a_table_of_contents_of_the_pages_own_sections_goes_whatever_its_markup() -> None:
    doc = load_file("sqlite3/eqp.html", SQLITE_EQP.encode())
    text = _text(doc)
    assert doc.title == "EXPLAIN QUERY PLAN"
    assert "Table Of Contents" not in text and "\u25ba" not in text
    assert text.count("Temporary Sorting B-Trees") == 0  # only a heading now: in the path
    assert any(b.section.endswith("Temporary Sorting B-Trees") for b in doc.blocks)
    # the page's title, in the box that held the table of contents, stays
    assert "EXPLAIN QUERY PLAN" in doc.blocks[0].text
    # links to the page's own places with what they describe are content: they stay
    assert "| SCAN | The table is read from its first row" in text
    assert "Only the rows an index finds are read" in text


def test_a_page_that_is_only_its_own_table_of_contents_is_read_as_links() -> None:
    page = (
        "<html><head><title>Contents</title></head><body><ul>"
        + "".join(f'<li><a href="#s{n}">Section {n}</a></li>' for n in range(6))
        + "</ul></body></html>"
    )
    doc = load_file("contents.html", page.encode())
    assert "Section 5" in _text(doc)
    assert doc.metadata.get("doc_kind") == "links"
