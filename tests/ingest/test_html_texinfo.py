"""GNU Texinfo's HTML (makeinfo 5.2 and 6.8 pages trimmed from Debian's aspell-doc and
m4-doc; 7.x markup as Texinfo's own test suite expects it): a node's Next / Previous / Up
bars, its menu and its pilcrows are navigation, the manual's name leaves the title, and an
index is a page of links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.loaders import load_file


def _page(title: str, body: str, version: str = "6.8", generator: str = "makeinfo") -> str:
    """A page as makeinfo `version` writes it, its `<head>` trimmed."""
    return (
        "<!DOCTYPE html>\n<html>\n"
        f"<!-- Created by GNU Texinfo {version}, https://www.gnu.org/software/texinfo/ -->\n"
        f'<head><title>{title}</title>\n<meta name="Generator" content="{generator}"></head>\n'
        f'<body lang="en">\n{body}\n</body>\n</html>'
    )


# m4-doc 1.4.19 (Debian 12), /usr/share/doc/m4/Dnl.html: the node bar above and below
M4_DNL = """<!DOCTYPE html>
<html>
<!-- Created by GNU Texinfo 6.8, https://www.gnu.org/software/texinfo/ -->
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>Dnl (GNU M4 1.4.19 macro processor)</title>
<meta name="description" content="Dnl (GNU M4 1.4.19 macro processor)">
<meta name="Generator" content="makeinfo">
<link href="Changequote.html" rel="next" title="Changequote">
</head>
<body lang="en">
<div class="section" id="Dnl">
<div class="header">
<p>
Next: <a href="Changequote.html" accesskey="n" rel="next">Changing the quote characters</a>,
Up: <a href="Input-Control.html" accesskey="u" rel="up">Input control</a> &nbsp;
[<a href="index.html#SEC_Contents" title="Table of contents" rel="contents">Contents</a>][<a
href="Indices.html" title="Index" rel="index">Index</a>]</p>
</div>
<hr>
<span id="Deleting-whitespace-in-input"></span><h3 class="section">8.1 Deleting whitespace
in input</h3>
<p>The builtin <code>dnl</code> stands for &ldquo;Discard to Next Line&rdquo;:
</p>
<dl class="def">
<dt id="index-dnl"><span class="category">Builtin: </span><span><strong>dnl</strong><a
href='#index-dnl' class='copiable-anchor'> &para;</a></span></dt>
<dd><p>All characters, up to and including the next newline, are discarded
without performing any macro expansion.
</p></dd></dl>
<div class="example">
<pre class="example">define(`foo', `Macro `foo'.')dnl A very simple macro, indeed.
foo
&rArr;Macro foo.
</pre></div>
</div>
<hr>
<div class="header">
<p>
Next: <a href="Changequote.html">Changing the quote characters</a>, Up: <a
href="Input-Control.html">Input control</a> &nbsp; [<a href="index.html#SEC_Contents"
title="Table of contents" rel="contents">Contents</a>][<a href="Indices.html" title="Index"
rel="index">Index</a>]</p>
</div>
</body>
</html>"""

# m4-doc, Input-Control.html: a chapter's introduction, then its menu of sections
M4_CHAPTER = _page(
    "Input Control (GNU M4 1.4.19 macro processor)",
    """<div class="chapter" id="Input-Control">
<div class="header"><p>Next: <a href="File-Inclusion.html" accesskey="n" rel="next">File
inclusion</a>, Up: <a href="index.html" accesskey="u" rel="up">GNU M4</a></p></div>
<hr>
<span id="Input-control"></span><h2 class="chapter">8 Input control</h2>
<p>This chapter describes various builtin macros for controlling the input
to <code>m4</code>.
</p>
<ul class="section-toc">
<li><a href="Dnl.html" accesskey="1">Deleting whitespace in input</a></li>
<li><a href="Changequote.html" accesskey="2">Changing the quote characters</a></li>
<li><a href="Changecom.html" accesskey="3">Changing the comment delimiters</a></li>
<li><a href="Changeword.html" accesskey="4">Changing the lexical structure of words</a></li>
<li><a href="M4wrap.html" accesskey="5">Saving text until end of input</a></li>
</ul>
</div>""",
)

# m4-doc, Indices.html: a heading and its menu, nothing else
M4_MENU_ONLY = _page(
    "Indices (GNU M4 1.4.19 macro processor)",
    """<div class="appendix" id="Indices">
<div class="header"><p>Previous: <a href="Copying-This-Manual.html" accesskey="p"
rel="prev">How to make copies of this manual</a>, Up: <a href="index.html">GNU M4</a></p></div>
<hr>
<span id="Indices-of-concepts-and-macros"></span><h2 class="appendix">Appendix C Indices of
concepts and macros</h2>
<ul class="section-toc">
<li><a href="Macro-index.html" accesskey="1">Index for all <code>m4</code> macros</a></li>
<li><a href="Concept-index.html" accesskey="2">Index for many concepts</a></li>
</ul>
</div>""",
)

# m4-doc, Concept-index.html
M4_INDEX = _page(
    "Concept index (GNU M4 1.4.19 macro processor)",
    """<div class="appendixsec" id="Concept-index">
<span id="Index-for-many-concepts"></span><h3 class="appendixsec">C.2 Index for many
concepts</h3>
<table><tr><th valign="top">Jump to: &nbsp; </th><td><a class="summary-letter"
href="#Concept-index_cp_letter-A"><b>A</b></a></td></tr></table>
<table class="index-cp" border="0">
<tr><td></td><th align="left">Index Entry</th><td>&nbsp;</td><th align="left"> Section</th></tr>
<tr><th id="Concept-index_cp_letter-A">A</th><td></td><td></td></tr>
<tr><td></td><td valign="top"><a href="Arguments.html#index-arguments-to-macros">arguments to
macros</a>:</td><td>&nbsp;</td><td valign="top"><a href="Arguments.html">Arguments</a></td></tr>
</table>
</div>""",
)

# aspell-doc 0.60.8 (Debian 12), aspell.html/Basic-Usage.html: makeinfo 5.2 puts the
# manual's name before the node's in the title, and writes menus as tables
ASPELL_BASIC_USAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<!-- Created by GNU Texinfo 5.2, http://www.gnu.org/software/texinfo/ -->
<head>
<title>GNU Aspell 0.60.8: Basic Usage</title>
<meta name="Generator" content="makeinfo">
</head>
<body lang="en" bgcolor="#FFFFFF" text="#000000">
<a name="Basic-Usage"></a>
<div class="header">
<p>
Next: <a href="Customizing-Aspell.html#Customizing-Aspell" accesskey="n" rel="next">Customizing
Aspell</a>, Previous: <a href="Support.html#Support" accesskey="p" rel="prev">Support</a>,
Up: <a href="index.html#Top" accesskey="u" rel="up">Top</a> &nbsp; [<a
href="index.html#SEC_Contents" title="Table of contents" rel="contents">Contents</a>]</p>
</div>
<hr>
<a name="Basic-Usage-1"></a>
<h2 class="chapter">3 Basic Usage</h2>
<p>For a quick reference on the Aspell utility use the command
&lsquo;<samp>aspell --help</samp>&rsquo;.
</p>
<table class="menu" border="0" cellspacing="0">
<tr><td align="left" valign="top">&bull; <a href="Spellchecking-Individual-Files.html"
accesskey="1">Spellchecking Individual Files</a>:</td><td>&nbsp;&nbsp;</td><td align="left"
valign="top"></td></tr>
<tr><td align="left" valign="top">&bull; <a href="Using-Aspell-as-a-Replacement-for-Ispell.html"
accesskey="2">Using Aspell as a Replacement for Ispell</a>:</td><td>&nbsp;&nbsp;</td><td
align="left" valign="top"></td></tr>
</table>
</body>
</html>"""

# makeinfo 7's markup, as Texinfo's own test suite expects it: `div.nav-panel`,
# `a.copiable-link` in each heading, `ul.mini-toc`, `table.*-entries-printindex`
TEXINFO_7 = _page(
    "Invoking frob (The Frob Manual)",
    """<div class="chapter-level-extent" id="Invoking-frob">
<div class="nav-panel">
<p>
Next: <a href="Options.html" accesskey="n" rel="next">Options</a>, Previous: <a
href="Overview.html" accesskey="p" rel="prev">Overview</a> &nbsp; [<a href="index.html#SEC_Contents"
title="Table of contents" rel="contents">Contents</a>]</p>
</div>
<hr>
<h2 class="chapter" id="Invoking-frob-1"><span>2 Invoking frob<a class="copiable-link"
href="#Invoking-frob-1"> &para;</a></span></h2>
<p>Run <code class="command">frob --all</code> to frob every file.</p>
<ul class="mini-toc">
<li><a href="Options.html" accesskey="1">Options</a></li>
</ul>
</div>""",
    version="7.1",
    generator="texi2any",
)
TEXINFO_7_INDEX = _page(
    "Index (The Frob Manual)",
    """<div class="unnumbered-level-extent" id="Index">
<h2 class="unnumbered" id="Index-1"><span>Index</span></h2>
<div class="printindex cp-printindex">
<table class="cp-entries-printindex" border="0">
<tr><td></td><th class="entries-header-printindex">Index Entry</th><th
class="sections-header-printindex">Section</th></tr>
<tr><td></td><td class="printindex-index-entry"><a href="Invoking-frob.html#index-all">all
files</a></td><td class="printindex-index-section"><a href="Invoking-frob.html">Invoking
frob</a></td></tr>
</table>
</div>
</div>""",
    version="7.1",
    generator="texi2any",
)


def _read(name: str, html: str) -> tuple[str, str, Mapping[str, Any]]:
    document = load_file(name, html.encode())
    text = "\n\n".join(block.text for block in document.blocks)
    return document.title, text, document.metadata


def test_a_node_bar_above_and_below_and_its_pilcrows_are_not_text() -> None:
    title, text, metadata = _read("Dnl.html", M4_DNL)
    assert "Next:" not in text and "Up:" not in text and "Contents" not in text
    assert "\u00b6" not in text
    assert "The builtin `dnl` stands for \u201cDiscard to Next Line\u201d:" in text
    assert "All characters, up to and including the next newline" in text
    assert "```\ndefine(`foo', `Macro `foo'.')dnl A very simple macro, indeed.\n" in text
    assert title == "Dnl"  # the node's name, without the manual's
    assert "doc_kind" not in metadata


def test_the_comment_alone_names_makeinfo() -> None:
    without_meta = M4_DNL.replace('<meta name="Generator" content="makeinfo">', "")
    title, text, _ = _read("Dnl.html", without_meta)
    assert title == "Dnl" and "Next:" not in text


def test_a_chapter_keeps_its_introduction_without_its_menu() -> None:
    _, text, metadata = _read("Input-Control.html", M4_CHAPTER)
    assert text.endswith(
        "This chapter describes various builtin macros for controlling the input to `m4`."
    )
    assert "Changing the quote characters" not in text
    # a sentence that only introduces the menu: the page leads to its sections
    assert metadata["doc_kind"] == "links"
    # an introduction that says more is content (m4's "13 Macros for running shell commands")
    more = (
        "<p>There are a few builtin macros in <code>m4</code> that allow you to run shell "
        "commands from within <code>m4</code>.</p><p>Note that the definition of a valid shell "
        "command is system dependent.</p>"
    )
    chapter = M4_CHAPTER.replace("<p>This chapter describes", more + "<p>This chapter describes")
    _, text, metadata = _read("Shell-commands.html", chapter)
    assert "doc_kind" not in metadata and "allow you to run shell commands" in text


def test_a_page_that_is_only_a_menu_is_read_whole() -> None:
    _, text, _ = _read("Indices.html", M4_MENU_ONLY)
    assert "Index for many concepts" in text  # two links: too few to call it a page of links
    assert "How to make copies" not in text  # the node bar still goes


def test_an_index_is_a_page_of_links() -> None:
    _, _, metadata = _read("Concept-index.html", M4_INDEX)
    assert metadata["doc_kind"] == "links"
    _, _, metadata = _read("Index.html", TEXINFO_7_INDEX)
    assert metadata["doc_kind"] == "links"


def test_makeinfo_5_puts_the_manual_before_the_node_and_menus_in_tables() -> None:
    title, text, _ = _read("Basic-Usage.html", ASPELL_BASIC_USAGE)
    assert title == "3 Basic Usage"  # the node's heading, which ends with its name
    assert "Next:" not in text and "Previous:" not in text
    assert "Spellchecking Individual Files" not in text
    assert "For a quick reference on the Aspell utility use the command" in text


def test_makeinfo_7_nav_panel_copiable_links_and_mini_toc() -> None:
    title, text, _ = _read("Invoking-frob.html", TEXINFO_7)
    assert text == "Run `frob --all` to frob every file."
    assert title == "2 Invoking frob"


def test_the_manual_leaves_the_title_in_nested_parentheses_too() -> None:
    octave = TEXINFO_7.replace("(The Frob Manual)", "(GNU Octave (version 7.3.0))")
    octave = octave.replace("2 Invoking frob<a", "Plotting<a")
    assert _read("Plotting.html", octave)[0] == "Invoking frob"


def test_a_div_header_elsewhere_is_content() -> None:
    page = (
        "<html><head><title>Guide</title></head><body><div class='header'><p>Install with "
        "<code>pip install frob</code>.</p></div><p>Then run it.</p></body></html>"
    )
    _, text, _ = _read("guide.html", page)
    assert "pip install frob" in text
