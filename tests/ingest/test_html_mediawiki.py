"""A wiki's pages saved as HTML from MediaWiki (a trimmed page of WikiChip, MediaWiki
1.25 with the Vector skin; Vector 2022's markup as Wikipedia serves it): the edit links,
"From <wiki>", "Jump to", "Retrieved from", the categories, the print-hidden boxes and the
reference marks are not text; headings stay clean."""

from __future__ import annotations

from ingest.loaders import load_file

WIKICHIP = """<!DOCTYPE html>
<html lang="en" dir="ltr" class="client-nojs">
<head>
<meta charset="UTF-8" />
<title>&lt;setjmp.h> Header - C - WikiChip</title>
<meta name="generator" content="MediaWiki 1.25.3" />
</head>
<body class="mediawiki ltr sitedir-ltr ns-0 ns-subject page-c_setjmp_h skin-vector action-view">
<div id="mw-page-base" class="noprint"></div>
<div id="mw-head-base" class="noprint"></div>
<div id="content" class="mw-body" role="main">
<a id="top"></a>
<div class="mw-indicators">
</div>
<h1 id="firstHeading" class="firstHeading" lang="en">&lt;setjmp.h&gt; Header - C</h1>
<div id="bodyContent" class="mw-body-content">
<div id="siteSub">From WikiChip</div>
<div id="contentSub"><span class="subpages">&lt; <a href="/wiki/c" title="c">c</a></span></div>
<div id="jump-to-nav" class="mw-jump">
Jump to: <a href="#mw-head">navigation</a>, <a href="#p-search">search</a>
</div>
<div id="mw-content-text" lang="en" dir="ltr" class="mw-content-ltr"><div class="noprint"
style="float:right;">
<table cellspacing="0">
<tr>
<td> <b><a href="/wiki/c/standard_library" title="c/standard library">C Standard Library</a></b>
</td></tr>
<tr>
<td style="display: block; padding-left: 20px; text-align: left;">
<p><span style="display: block;"><a href="/wiki/c/assert.h"
title="c/assert.h">&lt;assert.h&gt;</a><span>(<a href="/wiki/c/c89"
title="c/c89">C89</a>)</span></span>
<span style="display: block;"><a href="/wiki/c/complex.h"
title="c/complex.h">&lt;complex.h&gt;</a><span>(<a href="/wiki/c/c99"
title="c/c99">C99</a>)<small>op</small></span></span>
<span style="display: block;"><strong class="selflink">&lt;setjmp.h&gt;</strong><span>(<a
href="/wiki/c/c89" title="c/c89">C89</a>)</span></span>
</p>
</td></tr></table>
<hr />
<p><small>op</small> - Optional Header
<span class="noprint plainlinks navbar" style="float:right;"><small><a
href="/wiki/Template:C_Standard_Library"><span title="View this
template">v</span></a></small></span>
</p>
</div>
<p>The <b>&lt;setjmp.h&gt;</b> header is part of the <a href="/wiki/standard_library"
title="standard library">standard library</a> of the <a href="/wiki/C_programming_language"
title="C programming language" class="mw-redirect">C programming language</a> which provides the
mechanism for bypassing the normal function call and return discipline. This header was added in
<a href="/wiki/C89" title="C89" class="mw-redirect">C89</a>.
</p>
<h2><span class="mw-headline" id="Types">Types</span><span class="mw-editsection"><span
class="mw-editsection-bracket">[</span><a
href="/w/index.php?title=c/setjmp.h&amp;action=edit&amp;section=1" title="Edit section:
Types">edit</a><span class="mw-editsection-bracket">]</span></span></h2>
<table class="wikitable">
<tr>
<th> Type </th>
<th> Description </th>
<th> Since
</th></tr>
<tr>
<td> <a href="/w/index.php?title=c/setjmp.h/jmp_buf&amp;action=edit&amp;redlink=1"
class="new">jmp_buf</a> </td>
<td> An array type suitable for holding calling environment info. </td>
<td> <a href="/wiki/C89" title="C89" class="mw-redirect">C89</a>
</td></tr></table>
<h2><span class="mw-headline" id="Functions">Functions</span><span class="mw-editsection"><span
class="mw-editsection-bracket">[</span><a
href="/w/index.php?title=c/setjmp.h&amp;action=edit&amp;section=2" title="Edit section:
Functions">edit</a><span class="mw-editsection-bracket">]</span></span></h2>
<table class="wikitable">
<tr>
<th> Function </th>
<th> Description </th>
<th> Since
</th></tr>
<tr>
<td> <a href="/w/index.php?title=c/setjmp.h/longjmp&amp;action=edit&amp;redlink=1"
class="new">longjmp</a> </td>
<td> Restores the environment saved by the most recent invocation setjmp </td>
<td> <a href="/wiki/C89" title="C89" class="mw-redirect">C89</a>
</td></tr>
</table>
</div><div class="printfooter">
Retrieved from "<a dir="ltr"
href="http://en.wikichip.org/w/index.php?title=c/setjmp.h&amp;oldid=12705">http://en.wikichip.org/w/index.php?title=c/setjmp.h&amp;oldid=12705</a>"</div>
<div id='catlinks' class='catlinks'><div id="mw-normal-catlinks" class="mw-normal-catlinks"><a
href="/wiki/Special:Categories" title="Special:Categories">Categories</a>: <ul><li><a
href="/wiki/Category:C_standard_library" title="Category:C standard library">C standard
library</a></li><li><a href="/wiki/Category:Setjmp.h_-_C" title="Category:Setjmp.h - C">Setjmp.h
- C</a></li></ul></div></div><div class="visualClear"></div>
</div>
</div>
<div id="mw-navigation">
<h2>Navigation menu</h2>
<div id="mw-head">
<div id="p-personal" role="navigation" class="" aria-labelledby="p-personal-label">
<h3 id="p-personal-label">Personal tools</h3>
<ul><li id="pt-login"><a href="/w/index.php?title=Special:UserLogin">Log in</a></li></ul>
</div>
</div>
</div>
<div id="footer" role="contentinfo">
<ul id="footer-info"><li id="footer-info-lastmod"> This page was last modified on 23 November
2015, at 15:37.</li></ul>
</div>
</body>
</html>
"""

VECTOR_2022 = """<!DOCTYPE html><html class="client-js vector-feature-page-tools-pinned-enabled"
lang="en"><head><meta charset="UTF-8"><title>Red fox - Wikipedia</title>
<meta name="generator" content="MediaWiki 1.42.0-wmf.5"></head><body class="skin-vector-2022
mediawiki"><a class="mw-jump-link" href="#bodyContent">Jump to content</a><div
class="vector-header-container"><header class="vector-header mw-header"><nav
class="vector-main-menu-landmark" aria-label="Site"></nav></header></div><div
class="mw-page-container"><div class="mw-page-container-inner"><div class="mw-content-container">
<main id="content" class="mw-body"><header class="mw-body-header vector-page-titlebar"><h1
id="firstHeading" class="firstHeading mw-first-heading"><span class="mw-page-title-main">Red
fox</span></h1><div id="p-lang-btn" class="vector-dropdown mw-portlet mw-portlet-lang"><input
type="checkbox" class="vector-dropdown-checkbox"><label class="vector-dropdown-label"><span
class="vector-dropdown-label-text">150 languages</span></label><div
class="vector-dropdown-content"><ul><li><a lang="de">Deutsch</a></li></ul></div></div></header>
<div class="vector-page-toolbar"><div class="vector-page-toolbar-container"><div
id="left-navigation"><nav aria-label="Namespaces"><ul><li><a href="#">Article</a></li><li><a
href="#">Talk</a></li></ul></nav></div></div></div><div class="vector-column-end"><div
class="vector-page-tools-landmark vector-sticky-pinned-container"><nav
aria-label="Page tools"><div class="vector-page-tools">Tools</div></nav></div></div><div
id="bodyContent" class="vector-body"><div id="siteSub" class="noprint">From Wikipedia, the free
encyclopedia</div><div id="contentSub"><div id="mw-content-subtitle"></div></div><div
id="mw-content-text" class="mw-body-content"><div class="mw-content-ltr mw-parser-output"
lang="en" dir="ltr"><p>The <b>red fox</b> is the largest of the true foxes.<sup id="cite_ref-1"
class="reference"><a href="#cite_note-1">[1]</a></sup></p><div class="mw-heading
mw-heading2"><h2 id="Taxonomy">Taxonomy</h2><span class="mw-editsection"><span
class="mw-editsection-bracket">[</span><a href="/w/index.php?action=edit&amp;section=1"
title="Edit section: Taxonomy"><span>edit</span></a><span
class="mw-editsection-bracket">]</span></span></div><p>It was described by Linnaeus.</p><ol
class="references"><li id="cite_note-1"><span class="mw-cite-backlink"><b><a
href="#cite_ref-1">^</a></b></span> <span class="reference-text">Macdonald, D. W.
(2004).</span></li></ol></div></div><div class="printfooter" data-nosnippet="">Retrieved from
"<a dir="ltr" href="https://en.wikipedia.org/w/index.php?title=Red_fox">https://en.wikipedia.org/w/index.php?title=Red_fox</a>"</div><div
id="catlinks" class="catlinks" data-mw="interface"><div id="mw-normal-catlinks"
class="mw-normal-catlinks"><a href="/wiki/Help:Category">Categories</a>: <ul><li><a
href="/wiki/Category:Foxes">Foxes</a></li></ul></div></div></div></main></div></div></div>
</body></html>"""


def _read(name: str, html: str) -> tuple[str, list[tuple[str, str]]]:
    document = load_file(name, html.encode())
    return document.title, [(block.section, block.text) for block in document.blocks]


def test_a_mediawiki_page_keeps_its_text_and_clean_headings() -> None:
    title, blocks = _read("setjmp.html", WIKICHIP)
    assert title == "<setjmp.h> Header - C"
    assert [section for section, _ in blocks] == [
        "<setjmp.h> Header - C",
        "<setjmp.h> Header - C > Types",  # not "Types[edit]"
        "<setjmp.h> Header - C > Functions",
    ]
    assert blocks[0][1] == (
        "The <setjmp.h> header is part of the standard library of the C programming language "
        "which provides the mechanism for bypassing the normal function call and return "
        "discipline. This header was added in C89."
    )  # no "From WikiChip", "< c", "Jump to", nor the print-hidden box of other headers
    assert blocks[1][1] == (
        "| Type | Description | Since |\n| --- | --- | --- |\n"
        "| jmp_buf | An array type suitable for holding calling environment info. | C89 |"
    )
    assert blocks[2][1].endswith("| C89 |")  # no "Retrieved from", categories or menus


def test_vector_2022_menus_reference_marks_and_back_links_are_not_text() -> None:
    assert _read("Red_fox.html", VECTOR_2022) == (
        "Red fox",
        [
            ("Red fox", "The red fox is the largest of the true foxes."),
            ("Red fox > Taxonomy", "It was described by Linnaeus.\n\n1. Macdonald, D. W. (2004)."),
        ],
    )


def test_a_noprint_box_elsewhere_is_content() -> None:
    page = (
        "<html><head><title>Guide</title></head><body>"
        "<div class='noprint'><p>Run it.</p></div></body></html>"
    )
    assert _read("guide.html", page)[1] == [("", "Run it.")]
