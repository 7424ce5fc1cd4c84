"""API reference and book generators (rustdoc, mdBook, Javadoc, Doxygen): trimmed excerpts
of real pages from Debian 12 packages, each test naming its package and page. What is kept
is what a reader sees: no navigation, tooltips or "source" links, code as written, member
summaries as Markdown tables, titles without the site's name."""

from __future__ import annotations

from ingest.loaders import LoadedDocument, load_file


def _text(doc: LoadedDocument) -> str:
    return "\n\n".join(b.text for b in doc.blocks)


# rust-doc 1.63: /usr/share/doc/rust-doc/html/std/io/fn.copy.html
RUSTDOC_FN = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="rustdoc"><title>copy in std::io - Rust</title></head>
<body class="rustdoc fn"><nav class="mobile-topbar"><button class="sidebar-menu-toggle">&#9776;
</button><a class="sidebar-logo" href="../../std/index.html"><div class="logo-container"><img
 class="rust-logo" src="../../rust-logo1.63.0.svg" alt="logo"></div></a></nav>
<nav class="sidebar"><div class="sidebar-elems"><h2 class="location"><a href="index.html">In
 std::io</a></h2></div></nav>
<main><div class="width-limiter"><div class="sub-container"><a class="sub-logo-container"
 href="../../std/index.html"><img class="rust-logo" src="../../rust-logo1.63.0.svg" alt="logo">
</a><nav class="sub"><form class="search-form"><div class="search-container"><input
 class="search-input" name="search" placeholder="Click or press S to search" type="search">
<div id="settings-menu" tabindex="-1"><a href="../../settings.html" title="settings"><img
 width="22" height="22" alt="Change settings" src="../../wheel1.63.0.svg"></a></div></div>
</form></nav></div>
<section id="main-content" class="content"><div class="main-heading"><h1 class="fqn"><span
 class="in-band">Function <a href="../index.html">std</a>::<wbr><a href="index.html">io</a>::<wbr><a
 class="fn" href="#">copy</a><button id="copy-path" onclick="copy_path(this)" title="Copy item path
 to clipboard"><img src="../../clipboard1.63.0.svg" alt="Copy item path"></button></span></h1>
<span class="out-of-band"><span class="since" title="Stable since Rust version 1.0.0">1.0.0</span>
 · <a class="srclink" href="../../src/std/io/copy.rs.html#53-65">source</a></span></div>
<div class="docblock item-decl"><pre class="rust fn"><code>pub fn copy&lt;R:&nbsp;?<a
 class="trait" href="../marker/trait.Sized.html">Sized</a>, W:&nbsp;?<a class="trait"
 href="../marker/trait.Sized.html">Sized</a>&gt;(reader: <a class="primitive"
 href="../primitive.reference.html">&amp;mut </a>R, writer: <a class="primitive"
 href="../primitive.reference.html">&amp;mut </a>W) -&gt; <a class="type"
 href="type.Result.html">Result</a>&lt;<a class="primitive"
 href="../primitive.u64.html">u64</a>&gt; <span
 class="where fmt-newline">where<br>&nbsp;&nbsp;&nbsp;&nbsp;R: <a class="trait"
 href="trait.Read.html">Read</a>,<br>&nbsp;&nbsp;&nbsp;&nbsp;W: <a class="trait"
 href="trait.Write.html">Write</a>,&nbsp;</span></code></pre></div>
<details class="rustdoc-toggle top-doc" open><summary class="hideme"><span>Expand description
</span></summary><div class="docblock"><p>Copies the entire contents of a reader into a writer.
</p><h2 id="examples"><a href="#examples">Examples</a></h2>
<div class='information'><div class='tooltip should_panic'>&#9432;</div></div><div
 class="example-wrap"><pre class="rust rust-example-rendered"><code><span
 class="kw">let</span> <span
 class="kw-2">mut</span> <span class="ident">reader</span>: <span class="kw-2">&amp;</span>[<span
 class="ident">u8</span>] <span class="op">=</span> <span class="string">b&quot;hello&quot;</span>;
<span class="ident">io::copy</span>(<span class="kw-2">&amp;mut</span> <span
 class="ident">reader</span>, <span
 class="kw-2">&amp;mut</span> <span class="ident">writer</span>)<span
 class="question-mark">?</span>;</code></pre><a class="test-arrow" target="_blank"
 href="https://play.rust-lang.org/?code=fn%20main()">Run</a></div></div></details>
</section></div></main></body></html>"""


def test_rustdoc_item_page_keeps_its_declaration_and_examples_without_the_chrome() -> None:
    doc = load_file("std/io/fn.copy.html", RUSTDOC_FN.encode())
    assert doc.title == "copy in std::io"  # not "... - Rust"
    text = _text(doc)
    for chrome in ("logo", "Run", "source", "Expand description", "settings", "\u24d8"):
        assert chrome not in text, chrome
    assert doc.blocks[0].section == "Function std::io::copy"
    assert doc.blocks[0].text.startswith(
        "```\npub fn copy<R: ?Sized, W: ?Sized>(reader: &mut R, writer: &mut W)"
        " -> Result<u64> where\n    R: Read,\n    W: Write, \n```"
    )
    assert doc.blocks[-1].text == (
        '```\nlet mut reader: &[u8] = b"hello";\nio::copy(&mut reader, &mut writer)?;\n```'
    )


# rust-doc 1.63: /usr/share/doc/rust-doc/html/std/vec/struct.Vec.html (a method, a trait
# method) and std/io/index.html (the module's table of structs)
RUSTDOC_METHODS = """<html><head><title>Vec in std::vec - Rust</title></head><body><main>
<section id="main-content" class="content"><div class="main-heading"><h1 class="fqn"><span
 class="in-band">Struct <a href="../index.html">std</a>::<wbr><a href="index.html">vec</a>::<wbr><a
 class="struct" href="#">Vec</a></span></h1></div>
<details class="rustdoc-toggle method-toggle" open><summary><section id="method.new"
 class="method has-srclink"><span class="rightside"><span class="since" title="Stable since Rust
 version 1.0.0">const: 1.39.0</span> · <a class="srclink"
 href="../../src/alloc/vec/mod.rs.html#420">source</a></span><a href="#method.new"
 class="anchor"></a><h4 class="code-header">pub const fn <a href="#method.new"
 class="fnname">new</a>() -&gt; <a class="struct" href="struct.Vec.html">Vec</a>&lt;T&gt;<span
 class="notable-traits"><span class="notable-traits-tooltip">&#9432;<span
 class="notable-traits-tooltiptext"><span class="docblock"><span class="notable">Notable traits
 for <a class="struct" href="struct.Vec.html">Vec</a>&lt;u8, A&gt;</span></span></span></span>
</span></h4></section></summary><div class="docblock"><p>Constructs a new, empty
 <code>Vec&lt;T&gt;</code>.</p></div></details>
<details class="rustdoc-toggle method-toggle" open><summary><section id="method.borrow"
 class="method trait-impl has-srclink"><span class="rightside"><a class="srclink"
 href="../../src/alloc/vec/mod.rs.html#2700">source</a></span><h4 class="code-header">fn <a
 href="../borrow/trait.Borrow.html#tymethod.borrow" class="fnname">borrow</a>(&amp;self) -&gt;
 &amp;[T]</h4></section></summary><div class='docblock'><p>Immutably borrows from an owned value.
 <a href="../borrow/trait.Borrow.html#tymethod.borrow">Read more</a></p></div></details>
<h2 id="structs" class="small-section-header"><a href="#structs">Structs</a></h2>
<div class="item-table"><div class="item-row"><div class="item-left unstable module-item"><a
 class="struct" href="struct.ReadBuf.html">ReadBuf</a><span class="stab unstable"
 title="">Experimental</span></div><div class="item-right docblock-short"><p>A wrapper around a
 byte buffer that is incrementally filled and initialized.</p></div></div><div
 class="item-row"><div class="item-left module-item"><a class="struct"
 href="struct.BufReader.html">BufReader</a></div><div class="item-right docblock-short"><p>The
 <code>BufReader&lt;R&gt;</code> struct adds buffering to any reader.</p></div></div></div>
</section></main></body></html>"""


def test_rustdoc_method_headings_lose_tooltips_and_a_module_lists_items_as_a_table() -> None:
    doc = load_file("std/vec/struct.Vec.html", RUSTDOC_METHODS.encode())
    sections = {b.section: b.text for b in doc.blocks}
    assert sections["Struct std::vec::Vec > pub const fn new() -> Vec<T>"] == (
        "Constructs a new, empty `Vec<T>`."
    )
    borrow = sections["Struct std::vec::Vec > fn borrow(&self) -> &[T]"]
    assert borrow == "Immutably borrows from an owned value."  # no "Read more"
    assert sections["Struct std::vec::Vec > Structs"] == (
        "| ReadBuf Experimental | A wrapper around a byte buffer that is incrementally filled"
        " and initialized. |\n| --- | --- |\n"
        "| BufReader | The `BufReader<R>` struct adds buffering to any reader. |"
    )
    assert "source" not in _text(doc) and "1.39.0" not in _text(doc)


# rust-doc 1.63: /usr/share/doc/rust-doc/html/book/appendix-01-keywords.html and the hidden
# lines of book/ch03-03-how-functions-work.html (The Rust Programming Language, mdBook)
MDBOOK = """<!DOCTYPE HTML><html lang="en" class="sidebar-visible no-js light"><head>
<!-- Book generated using mdBook --><meta charset="UTF-8">
<title>A - Keywords - The Rust Programming Language</title></head><body>
<nav id="sidebar" class="sidebar" aria-label="Table of contents"><div class="sidebar-scrollbox">
<ol class="chapter"><li class="chapter-item expanded affix "><a href="title-page.html">The Rust
 Programming Language</a></li><li class="chapter-item expanded "><a
 href="ch01-00-getting-started.html"><strong aria-hidden="true">1.</strong> Getting Started</a>
</li></ol></div></nav>
<div id="page-wrapper" class="page-wrapper"><div class="page"><div id="menu-bar"
 class="menu-bar sticky bordered"><div class="left-buttons"><button id="sidebar-toggle"
 class="icon-button" type="button" title="Toggle Table of Contents"></button></div><h1
 class="menu-title">The Rust Programming Language</h1><div class="right-buttons"><a
 href="print.html" title="Print this book" aria-label="Print this book"><i id="print-button"
 class="fa fa-print"></i></a></div></div>
<div id="content" class="content"><main><h2 id="appendix-a-keywords"><a class="header"
 href="#appendix-a-keywords">Appendix A: Keywords</a></h2>
<p>The following list contains keywords that are reserved for current or future use.</p>
<pre><pre class="playground"><code class="language-rust">
<span class="boring">#![allow(unused)]
</span><span class="boring">fn main() {
</span>let x = 5;
<span class="boring">}
</span></code></pre></pre></main>
<nav class="nav-wrapper" aria-label="Page navigation"><a rel="prev" href="appendix-00.html"
 class="mobile-nav-chapters previous" title="Previous chapter" aria-label="Previous chapter"><i
 class="fa fa-angle-left"></i></a></nav></div></div></div></body></html>"""


def test_mdbook_chapter_without_sidebar_menu_bar_or_hidden_lines() -> None:
    doc = load_file("book/appendix-01-keywords.html", MDBOOK.encode())
    assert doc.title == "A - Keywords"  # the book's name after " - " goes
    assert [(b.section, b.text) for b in doc.blocks] == [
        (
            "Appendix A: Keywords",
            "The following list contains keywords that are reserved for current or future"
            " use.\n\n```rust\nlet x = 5;\n```",
        )
    ]


# libcommons-lang3-java-doc 3.12.0 (JDK 17 javadoc):
# /usr/share/doc/libcommons-lang3-java/api/org/apache/commons/lang3/StringUtils.html
JAVADOC = """<!DOCTYPE HTML><html><head><title>StringUtils (Apache Commons Lang 3.12.0 API)
</title><meta name="generator" content="javadoc/ClassWriterImpl"></head>
<body class="class-declaration-page"><div class="flex-box"><header role="banner"
 class="flex-header"><nav role="navigation"><div class="top-nav" id="navbar-top"><div
 class="skip-nav"><a href="#skip-navbar-top" title="Skip navigation links">Skip navigation
 links</a></div><ul id="navbar-top-firstrow" class="nav-list" title="Navigation"><li><a
 href="../../../../index.html">Overview</a></li><li class="nav-bar-cell1-rev">Class</li></ul>
</div></nav></header><div class="flex-content"><main role="main">
<div class="header"><div class="sub-title"><span
 class="package-label-in-type">Package</span>&nbsp;<a
 href="package-summary.html">org.apache.commons.lang3</a></div><h1 title="Class StringUtils"
 class="title">Class StringUtils</h1></div>
<section class="class-description" id="class-description"><div class="type-signature"><span
 class="modifiers">public class </span><span class="element-name type-name-label">StringUtils</span>
<span class="extends-implements">extends <a href="https://docs.oracle.com/javase/8/docs/api/java/lang/Object.html"
 class="external-link">Object</a></span></div><div class="block"><p>Operations on
 <code>String</code> that are <code>null</code> safe.</p></div></section>
<section class="summary"><ul class="summary-list"><li><section class="method-summary"
 id="method-summary"><h2>Method Summary</h2><div id="method-summary-table"><div
 class="table-tabs" role="tablist"><button id="method-summary-table-tab0" role="tab"
 class="active-table-tab">All Methods</button><button id="method-summary-table-tab1"
 role="tab" class="table-tab">Static Methods</button></div>
<div id="method-summary-table.tabpanel" role="tabpanel"><div class="summary-table
 three-column-summary"><div class="table-header col-first">Modifier and Type</div><div
 class="table-header col-second">Method</div><div class="table-header col-last">Description</div>
<div class="col-first even-row-color"><code>static <a href="String.html">String</a></code></div>
<div class="col-second even-row-color"><code><a href="#abbreviate(java.lang.String,int)"
 class="member-name-link">abbreviate</a><wbr>(<a href="String.html">String</a>&nbsp;str,
 int&nbsp;maxWidth)</code></div><div class="col-last even-row-color"><div class="block">Abbreviates
 a String using ellipses.</div></div></div></div></div></section></li></ul></section>
<section class="details"><ul class="details-list"><li><section class="method-details"
 id="method-detail"><h2>Method Details</h2><ul class="member-list"><li><section class="detail"
 id="abbreviate(java.lang.String,int)"><h3>abbreviate</h3><div class="member-signature"><span
 class="modifiers">public static</span>&nbsp;<span class="return-type"><a
 href="String.html">String</a></span>&nbsp;<span class="element-name">abbreviate</span><wbr><span
 class="parameters">(<a href="String.html">String</a>&nbsp;str,
 int&nbsp;maxWidth)</span></div><div class="block"><p>Abbreviates a String using ellipses.</p>
<pre>
 StringUtils.abbreviate("abcdefg", 6) = "abc..."
 </pre></div></section></li></ul></section></li></ul></section></main>
<footer role="contentinfo"><p class="legal-copy"><small>Copyright &#169; 2001&#x2013;2022 The
 Apache Software Foundation. All rights reserved.</small></p></footer></div></div></body></html>"""


def test_javadoc_class_summary_grid_is_a_table_and_signatures_are_java_code() -> None:
    doc = load_file("org/apache/commons/lang3/StringUtils.html", JAVADOC.encode())
    assert doc.title == "Class StringUtils"  # not "... (Apache Commons Lang 3.12.0 API)"
    sections = {b.section: b.text for b in doc.blocks}
    assert sections["Class StringUtils"].startswith(
        "```java\npublic class StringUtils\nextends Object\n```"
    )
    assert sections["Class StringUtils > Method Summary"] == (
        "| Modifier and Type | Method | Description |\n| --- | --- | --- |\n"
        "| `static String` | `abbreviate(String str, int maxWidth)` |"
        " Abbreviates a String using ellipses. |"
    )
    # a member's list item is layout: no "- " before its signature, which stays aligned
    assert sections["Class StringUtils > Method Details > abbreviate"].startswith(
        "```java\npublic static String abbreviate(String str,\n"
        "                                int maxWidth)\n```\n\n"
        "Abbreviates a String using ellipses."
    )
    text = _text(doc)
    for chrome in ("Skip navigation", "Overview", "All Methods", "Copyright"):
        assert chrome not in text, chrome


def test_javadoc_index_is_a_links_page_and_a_nul_in_html_is_ignored() -> None:
    # libcommons-lang3-java-doc: api/index-all.html quotes CharUtils.NUL as a NUL byte
    entries = "".join(
        f'<dt><a href="org/X{n}.html#m" class="member-name-link">method{n}()</a> - Static method'
        f' in class org.apache.commons.lang3.<a href="org/X{n}.html">X{n}</a></dt><dd><div'
        f' class="block">Does the thing number {n} to a String, null safe.</div></dd>'
        for n in range(30)
    )
    page = f"""<html><head><title>Index (Apache Commons Lang 3.12.0 API)</title>
    <meta name="generator" content="javadoc/IndexWriter"></head><body class="index-page">
    <main role="main"><h1>Index</h1><dl class="index">{entries}
    <dt><a href="org/CharUtils.html#NUL">NUL</a></dt><dd><div class="block"><code>\x00</code>
    null control character.</div></dd></dl></main></body></html>"""
    doc = load_file("api/index-all.html", page.encode())
    assert doc.metadata["doc_kind"] == "links"
    assert doc.title == "Index"
    assert _text(doc).endswith("NUL\n\nnull control character.")


# liblog4cplus-doc 2.0.8 (Doxygen 1.9.4):
# /usr/share/doc/liblog4cplus-dev/html/classlog4cplus_1_1FileAppender.html
DOXYGEN = """<html><head><meta name="generator" content="Doxygen 1.9.4"/>
<title>log4cplus: log4cplus::FileAppender Class Reference</title></head><body>
<div id="top"><div id="titlearea"><table><tbody><tr id="projectrow"><td id="projectalign"><div
 id="projectname">log4cplus<span id="projectnumber">&#160;2.0.8</span></div></td></tr></tbody>
</table></div><div id="main-nav"></div></div>
<div id="nav-path" class="navpath"><ul><li class="navelem"><a class="el"
 href="namespacelog4cplus.html">log4cplus</a></li></ul></div>
<div class="header"><div class="summary"><a href="#pub-methods">Public Member Functions</a>
 &#124; <a href="classlog4cplus_1_1FileAppender-members.html">List of all members</a></div>
<div class="headertitle"><div class="title">log4cplus::FileAppender Class Reference<span
 class="mlabels"><span class="mlabel">final</span></span></div></div></div>
<div class="contents"><p>Appends log events to a file. <a href="#details">More...</a></p>
<div class="dynheader">Inheritance diagram for log4cplus::FileAppender:</div><div
 class="dyncontent"><div class="center"><img
 src="classlog4cplus_1_1FileAppender__inherit__graph.png"
 usemap="#map" alt="Inheritance graph"/></div><center><span class="legend">[<a
 href="graph_legend.html">legend</a>]</span></center></div>
<table class="memberdecls"><tr class="heading"><td colspan="2"><h2 class="groupheader"><a
 id="pub-methods" name="pub-methods"></a>Public Member Functions</h2></td></tr>
<tr class="memitem:a1"><td class="memItemLeft" align="right" valign="top">virtual void&#160;</td><td
 class="memItemRight" valign="bottom"><a class="el" href="#a1">close</a> ()</td></tr>
<tr class="memdesc:a1"><td class="mdescLeft">&#160;</td><td class="mdescRight">Release any
 resources allocated within the appender. <a href="#a1">More...</a><br /></td></tr>
<tr class="inherit_header pub_methods_classlog4cplus_1_1Appender"><td colspan="2"
 onclick="javascript:toggleInherit('pub_methods_classlog4cplus_1_1Appender')"><img
 src="closed.png" alt="-"/>&#160;Public Member Functions inherited from <a class="el"
 href="classlog4cplus_1_1Appender.html">log4cplus::Appender</a></td></tr>
<tr class="memitem:a2 inherit pub_methods_classlog4cplus_1_1Appender"><td
 class="memItemLeft">void&#160;</td><td class="memItemRight"><a class="el"
 href="classlog4cplus_1_1Appender.html#a2">setName</a> (const tstring &amp;name)</td></tr>
</table>
<a name="details" id="details"></a><h2 class="groupheader">Detailed Description</h2>
<div class="textblock"><p>Appends log events to a file.</p>
<div class="fragment"><div class="line">log4cplus.appender.A1=log4cplus::FileAppender</div>
<div class="line">log4cplus.appender.A1.File=app.log</div>
<div class="ttc" id="aclasslog4cplus"><div class="ttname"><a href="x.html">log4cplus::Logger</a>
</div><div class="ttdoc">This is the central class in the log4cplus package.</div></div>
</div></div>
<h2 class="groupheader">Constructor &amp; Destructor Documentation</h2>
<a id="a2d3" name="a2d3"></a><h2 class="memtitle"><span class="permalink"><a
 href="#a2d3">&#9670;&nbsp;</a></span>FileAppender()</h2>
<div class="memitem"><div class="memproto"><table class="mlabels"><tr><td
 class="mlabels-left"><table class="memname"><tr>
<td class="memname">log4cplus::FileAppender::FileAppender </td><td>(</td>
<td class="paramtype">const log4cplus::tstring &amp;&#160;</td>
<td class="paramname"><em>filename</em>, </td></tr>
<tr><td class="paramkey"></td><td></td><td class="paramtype">bool&#160;</td>
<td class="paramname"><em>immediateFlush</em> = <code>true</code>&#160;</td></tr>
<tr><td></td><td>)</td><td></td><td></td></tr></table></td><td class="mlabels-right"><span
 class="mlabels"><span class="mlabel">explicit</span></span></td></tr></table></div>
<div class="memdoc"><p>Opens the file.</p></div></div></div>
<hr class="footer"/><address class="footer"><small>Generated on Sun Oct 9 2022 09:29:34 for
 log4cplus by&#160;<a href="https://www.doxygen.org/index.html">doxygen</a> 1.9.4</small>
</address></body></html>"""


def test_doxygen_class_page_prototypes_fragments_and_title() -> None:
    doc = load_file("html/classlog4cplus_1_1FileAppender.html", DOXYGEN.encode())
    assert doc.title == "log4cplus::FileAppender Class Reference"  # no "log4cplus: "
    sections = {b.section: b.text for b in doc.blocks}
    top = sections["log4cplus::FileAppender Class Reference"]
    assert top == (
        "[final]\n\nAppends log events to a file.\n\n"
        "| Public Member Functions |  |\n| --- | --- |\n| virtual void | close () |\n"
        "|  | Release any resources allocated within the appender. |\n"
        "| Public Member Functions inherited from log4cplus::Appender |  |"
    )
    details = sections["log4cplus::FileAppender Class Reference > Detailed Description"]
    assert details == (
        "Appends log events to a file.\n\n```\nlog4cplus.appender.A1=log4cplus::FileAppender\n"
        "log4cplus.appender.A1.File=app.log\n```"
    )
    constructor = sections["log4cplus::FileAppender Class Reference > FileAppender()"]
    assert constructor == (
        "```\nlog4cplus::FileAppender::FileAppender (const log4cplus::tstring & filename,\n"
        "                                       bool immediateFlush = true)\n```\n\n"
        "[explicit]\n\nOpens the file."
    )
    text = _text(doc)
    for chrome in ("More...", "\u25c6", "Inheritance diagram", "legend", "setName", "doxygen"):
        assert chrome not in text, chrome


# lmdb-doc 0.9.24 (Doxygen 1.8.16): /usr/share/doc/lmdb-doc/html/lmdb_8h_source.html
DOXYGEN_SOURCE = """<html><head><meta name="generator" content="Doxygen 1.8.16"/>
<title>LMDB: lmdb.h Source File</title></head><body><div id="top"><div id="titlearea"><table>
<tbody><tr style="height: 56px;"><td id="projectalign"><div id="projectname">LMDB</div></td>
</tr></tbody></table></div></div>
<div class="header"><div class="headertitle"><div class="title">lmdb.h</div></div></div>
<div class="contents"><a href="lmdb_8h.html">Go to the documentation of this file.</a><div
 class="fragment"><div class="line"><a name="l00165"></a><span
 class="lineno">  165</span>&#160;<span
 class="preprocessor">#ifndef _LMDB_H_</span></div>
<div class="line"><a name="l00257"></a><span class="lineno"><a class="line"
 href="group__mdb__put.html#ga9e">  257</a></span>&#160;<span class="keyword">typedef</span> <span
 class="keyword">struct </span>MDB_val {</div>
<div class="line"><a name="l00258"></a><span class="lineno">  258</span>&#160;    <span
 class="keywordtype">size_t</span>       <a class="code" href="x.html">mv_size</a>;</div>
</div></div></body></html>"""


def test_doxygen_source_listing_is_code_without_line_numbers() -> None:
    doc = load_file("html/lmdb_8h_source.html", DOXYGEN_SOURCE.encode())
    assert doc.title == "lmdb.h"
    assert [(b.section, b.text) for b in doc.blocks] == [
        (
            "lmdb.h",
            "```\n#ifndef _LMDB_H_\ntypedef struct MDB_val {\n    size_t       mv_size;\n```",
        )
    ]


def test_source_listings_lose_their_line_numbers() -> None:
    # rust-doc 1.63: html/src/std/io/copy.rs.html (the numbers are a <pre> of their own)
    rustdoc = """<html><head><title>copy.rs - source</title></head><body><main><section
    id="main-content" class="content"><div class="example-wrap"><pre class="line-numbers"><span
 id="1">1</span>
<span id="2">2</span>
</pre><pre class="rust"><code><span class="kw">use</span> <span class="ident">crate::mem</span>;
<span class="kw">pub</span> <span class="kw">fn</span> <span
 class="ident">copy</span>() {}</code></pre>
    </div></section></main></body></html>"""
    doc = load_file("src/std/io/copy.rs.html", rustdoc.encode())
    assert _text(doc) == "```\nuse crate::mem;\npub fn copy() {}\n```"
    # libcommons-lang3-java-doc: api/src-html/org/apache/commons/lang3/BitField.html
    javadoc = """<html><head><title>Source code</title></head><body><main role="main"><div
 class="source-container"><pre><span class="source-line-no">001</span><span id="line-1">/*</span>
<span class="source-line-no">002</span><span id="line-2"> * Licensed to the ASF</span>
</pre></div></main></body></html>"""
    doc = load_file("src-html/org/apache/commons/lang3/BitField.html", javadoc.encode())
    assert _text(doc) == "```\n/*\n * Licensed to the ASF\n```"


def test_a_title_is_the_heading_it_differs_from_in_case_or_site_name_only() -> None:
    # rust-doc 1.63: html/book/ch04-01-what-is-ownership.html (mdBook)
    page = """<html><head><title>What is Ownership? - The Rust Programming Language</title>
    </head><body><main><h1>What Is Ownership?</h1><p>Ownership is a set of rules.</p></main>
    </body></html>"""
    assert load_file("book/ch04-01.html", page.encode()).title == "What Is Ownership?"
    # python3.11-doc: html/index.html (Sphinx): the <title> is the end of the heading
    page = """<html><head><title>3.11.2 Documentation</title></head><body><div class="body"
    role="main"><h1>Python 3.11.2 documentation</h1><p>Welcome!</p></div></body></html>"""
    assert load_file("index.html", page.encode()).title == "Python 3.11.2 documentation"


def test_a_redirect_page_is_a_links_page() -> None:
    # rust-doc 1.63: html/std/macro.eprintln!.html (one of 9,962 such stubs in std, core
    # and alloc) and html/reference/expressions/enum-variant-expr.html (mdBook)
    rustdoc = """<!DOCTYPE html><html lang="en"><head><meta http-equiv="refresh"
    content="0;URL=macro.eprintln.html"><title>Redirection</title></head><body><p>Redirecting
    to <a href="macro.eprintln.html">macro.eprintln.html</a>...</p></body></html>"""
    doc = load_file("std/macro.eprintln!.html", rustdoc.encode())
    assert doc.metadata["doc_kind"] == "links"
    mdbook = """<html><head><meta http-equiv="Refresh" content="0; URL='struct-expr.html'">
    <title>Redirecting...</title></head><body><p>Redirecting to... <a
    href="struct-expr.html">struct-expr.html</a>.</p></body></html>"""
    doc = load_file("reference/expressions/enum-variant-expr.html", mdbook.encode())
    assert doc.metadata["doc_kind"] == "links"
    # a page that reloads itself later is content
    later = mdbook.replace('content="0; URL=', 'content="300; URL=')
    assert "doc_kind" not in load_file("status.html", later.encode()).metadata


def test_a_page_kept_out_of_search_engines_is_left_out_of_default_search() -> None:
    # rust-doc 1.63: html/book/print.html, mdBook's whole book in one page
    page = """<!DOCTYPE HTML><html lang="en"><head><meta charset="UTF-8">
    <title>The Rust Programming Language</title><meta name="robots" content="noindex" />
    </head><body><main><h1>The Rust Programming Language</h1><p>by Steve Klabnik and Carol
    Nichols, with contributions from the Rust Community</p><h2>Installation</h2><p>The first
    step is to install Rust. We'll download Rust through rustup.</p></main></body></html>"""
    doc = load_file("book/print.html", page.encode())
    assert doc.metadata["doc_kind"] == "links"
    assert "install Rust" in _text(doc)  # still read and stored: a filter naming it finds it
    for content in ("NOINDEX, follow", "none"):
        assert (
            load_file("p.html", page.replace('"noindex"', f'"{content}"').encode()).metadata[
                "doc_kind"
            ]
            == "links"
        )
    indexed = page.replace('content="noindex"', 'content="index, follow"')
    assert "doc_kind" not in load_file("book/ch01-01-installation.html", indexed.encode()).metadata
