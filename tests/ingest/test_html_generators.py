"""Pages as the common doc generators write them (snippets of their real markup): what is
kept is what a reader sees, without the generator's navigation."""

from __future__ import annotations

from ingest.chunker import chunk_blocks
from ingest.html_text import page_kind
from ingest.loaders import Block, load_file

DOCBOOK = """<html><head><title>pg_restore</title></head><body id="docContent">
<div class="navheader"><table width="100%" summary="Navigation header"><tr><th colspan="5"
 align="center">pg_restore</th></tr><tr><td width="10%" align="left"><a accesskey="p"
 href="app-pgdump.html">Prev</a> </td><td width="10%" align="left"><a accesskey="u"
 href="reference-client.html">Up</a></td><th width="60%" align="center">PostgreSQL Client
 Applications</th><td width="10%" align="right"><a accesskey="h" href="index.html">Home</a>
 </td><td width="10%" align="right"> <a accesskey="n" href="app-psql.html">Next</a></td>
 </tr></table><hr /></div>
<div class="refentry" id="APP-PGRESTORE"><div class="titlepage"></div>
<div class="refnamediv"><h2><span class="application">pg_restore</span></h2><p>pg_restore
 &#8212; restore a database</p></div>
<div class="refsect1" id="id-1"><h2>Examples</h2><p>To drop the database and recreate it
 from the dump, use <code class="command">VACUUM</code> (without <code
 class="literal">FULL</code>) and feed it to <span class="application">psql</span>:</p>
<pre class="screen">$ dropdb mydb
$ pg_restore -C -d postgres db.dump</pre>
<div class="table"><table class="table" summary="Modes"><thead><tr><th>Mode</th>
<th>Meaning</th></tr></thead><tbody><tr><td><code class="literal">-c</code></td>
<td>Clean (drop) objects first</td></tr><tr><td><code class="literal">-C</code></td>
<td>Create the database</td></tr></tbody></table></div></div></div>
<div class="navfooter"><hr /><table width="100%" summary="Navigation footer"><tr><td
 width="40%" align="left"><a accesskey="p" href="app-pgdump.html">Prev</a> </td><td
 width="20%" align="center"><a accesskey="u" href="reference-client.html">Up</a></td>
 <td width="40%" align="right"> <a accesskey="n" href="app-psql.html">Next</a></td></tr>
 <tr><td width="40%" align="left" valign="top">pg_dump </td><td width="20%"
 align="center"><a accesskey="h" href="index.html">Home</a></td><td width="40%"
 align="right" valign="top"> psql</td></tr></table></div></body></html>"""


def test_docbook_page_without_its_navigation_bars() -> None:
    doc = load_file("html/app-pgrestore.html", DOCBOOK.encode())
    text = "\n\n".join(b.text for b in doc.blocks)
    assert "Prev" not in text and "Next" not in text and "Home" not in text
    examples = next(b.text for b in doc.blocks if b.section.endswith("Examples"))
    assert examples.startswith(
        "To drop the database and recreate it from the dump, use `VACUUM` (without `FULL`)"
        " and feed it to psql:"
    )
    assert "```\n$ dropdb mydb\n$ pg_restore -C -d postgres db.dump\n```" in examples
    assert examples.endswith(
        "| Mode | Meaning |\n| --- | --- |\n| `-c` | Clean (drop) objects first |\n"
        "| `-C` | Create the database |"
    )
    assert "doc_kind" not in doc.metadata
    # the refpurpose, without the name before its dash, is the page's summary
    assert doc.metadata["summary"] == "restore a database"


def test_summary_only_where_the_markup_gives_a_purpose() -> None:
    """A refnamediv that holds only a name, or a page with none, has no summary; a purpose
    is one line however the source wrapped it."""
    name_only = DOCBOOK.replace("pg_restore\n &#8212; restore a database", "pg_restore")
    assert "summary" not in load_file("html/a.html", name_only.encode()).metadata
    plain = "<html><head><title>Notes</title></head><body><p>pg_restore - not a purpose</p>"
    assert "summary" not in load_file("notes.html", f"{plain}</body></html>".encode()).metadata
    wrapped = DOCBOOK.replace("restore a database", "restore a\n   database   from a\n dump")
    summary = load_file("html/b.html", wrapped.encode()).metadata["summary"]
    assert summary == "restore a database from a dump"
    # a book written as one page holds many entries: none of their purposes is the page's
    entry = DOCBOOK[
        DOCBOOK.index('<div class="refentry"') : DOCBOOK.index('<div class="navfooter"')
    ]
    book = DOCBOOK.replace(entry, entry + entry.replace("pg_restore", "pg_dump"))
    assert "summary" not in load_file("html/book.html", book.encode()).metadata


SPHINX = """<html><head><title>venv &#8212; Creation of virtual environments &#8212;
 Python 3.11.2 documentation</title></head><body>
<div class="mobile-nav"><nav class="nav-content" role="navigation"><a href="#">Logo</a></nav></div>
<div class="related" role="navigation" aria-label="related navigation"><h3>Navigation</h3>
<ul><li class="right"><a href="../genindex.html" title="General Index">index</a></li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper">
<div class="body" role="main"><section id="module-venv">
<h1><code class="xref py py-mod docutils literal notranslate"><span class="pre">venv</span>
</code> &#8212; Creation of virtual environments<a class="headerlink" href="#module-venv"
 title="Permalink to this heading">\u00b6</a></h1>
<p>Creation is done by executing the command <code class="docutils literal notranslate">
<span class="pre">venv</span></code>:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span
 class="n">result</span> <span class="o">=</span> <span class="n">client</span><span
 class="o">.</span><span class="n">run</span><span class="p">(</span><span
 class="n">query</span><span class="p">,</span> <span class="n">limit</span><span
 class="o">=</span><span class="mi">12</span><span class="p">)</span>
<span class="nb">print</span><span class="p">(</span><span class="n">result</span><span
 class="p">)</span>
</pre></div></div>
<dl class="py function"><dt class="sig sig-object py" id="venv.create"><span
 class="sig-prename descclassname"><span class="pre">venv.</span></span><span
 class="sig-name descname"><span class="pre">create</span></span><span
 class="sig-paren">(</span><em class="sig-param"><span class="n"><span
 class="pre">env_dir</span></span></em>, <em class="sig-param"><span class="n"><span
 class="pre">clear</span></span><span class="o"><span class="pre">=</span></span><span
 class="default_value"><span class="pre">False</span></span></em><span
 class="sig-paren">)</span><a class="headerlink" href="#venv.create">\u00b6</a></dt>
<dd><p>Create an <code class="xref py py-class docutils literal notranslate"><span
 class="pre">EnvBuilder</span></code> and call its create method.</p></dd></dl>
</section></div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="main navigation"><h3>Previous topic
</h3><p><a href="ensurepip.html">ensurepip</a></p></div></div>
<div class="footer">&#169; Copyright 2001-2023, Python Software Foundation.</div>
</body></html>"""


def test_sphinx_page_keeps_highlighted_code_and_signatures_as_written() -> None:
    doc = load_file("library/venv.html", SPHINX.encode())
    assert doc.title == "venv \u2014 Creation of virtual environments"  # no site suffix
    text = "\n\n".join(b.text for b in doc.blocks)
    assert "Navigation" not in text and "Previous topic" not in text and "Copyright" not in text
    assert "the command `venv`:" in text
    assert "```python3\nresult = client.run(query, limit=12)\nprint(result)\n```" in text
    assert "`venv.create(env_dir, clear=False)`" in text
    assert "Create an `EnvBuilder` and call its create method." in text


MATERIAL = """<html><head><title>Getting Started - Demo Documentation</title></head><body>
<header class="md-header" data-md-component="header"><nav class="md-header__inner">
<a href="." title="Demo">Demo</a></nav></header>
<div class="md-container"><main class="md-main"><div class="md-main__inner">
<div class="md-sidebar md-sidebar--primary"><nav class="md-nav md-nav--primary">
<ul class="md-nav__list"><li class="md-nav__item"><a class="md-nav__link" href="../">Home</a>
</li></ul></nav></div>
<div class="md-content" data-md-component="content"><article class="md-content__inner md-typeset">
<a href="edit/main/docs/start.md" title="Edit this page" class="md-content__button md-icon">
Edit</a><h1 id="getting-started">Getting Started</h1>
<p>Install the package with <code>pip</code>.</p>
<div class="language-console highlight"><pre><span></span><code><span class="gp">$ </span>\
pip install demo
</code></pre></div>
</article></div></div></main>
<footer class="md-footer"><nav class="md-footer__inner"><a class="md-footer__link"
 href="../">Previous Home</a></nav></footer></div></body></html>"""


def test_mkdocs_material_page_is_its_article() -> None:
    doc = load_file("start/index.html", MATERIAL.encode())
    assert doc.title == "Getting Started"
    assert [(b.section, b.text) for b in doc.blocks] == [
        (
            "Getting Started",
            "Install the package with `pip`.\n\n```console\n$ pip install demo\n```",
        )
    ]


ASCIIDOC = """<html><head><meta name="generator" content="AsciiDoc 10.2.0" />
<title>git-credential-store(1)</title></head><body class="manpage">
<div id="header"><h1>git-credential-store(1) Manual Page</h1><h2>NAME</h2>
<div class="sectionbody"><p>git-credential-store -
   Helper to store credentials on disk
</p></div></div>
<div id="content"><div class="sect1"><h2 id="_synopsis">SYNOPSIS</h2><div class="sectionbody">
<div class="verseblock"><pre class="content"><em>git config credential.helper</em> \
'store [&lt;options&gt;]'</pre><div class="attribution"></div></div></div></div>
<div class="sect1"><h2 id="_description">DESCRIPTION</h2><div class="sectionbody">
<div class="admonitionblock"><table><tr><td class="icon"><div class="title">Note</div></td>
<td class="content">Using this helper will store your passwords unencrypted on disk, protected
only by filesystem permissions. Try <a href="git-credential-cache.html">\
git-credential-cache(1)</a>.</td></tr></table></div>
<div class="paragraph"><p>This command stores credentials indefinitely on disk.</p></div>
</div></div>
<div class="sect1"><h2 id="_options">OPTIONS</h2><div class="sectionbody"><div class="dlist"><dl>
<dt class="hdlist1">--file=&lt;path&gt;</dt><dd><p>Use <code>&lt;path&gt;</code> to look up and
store credentials.</p></dd></dl></div></div></div>
<div class="sect1"><h2 id="_examples">EXAMPLES</h2><div class="sectionbody">
<div class="listingblock"><div class="content"><pre><code>$ git config credential.helper store
$ git push http://example.com/repo.git   &lt;1&gt;
$ git push http://example.com/repo.git   &lt;2&gt;</code></pre></div></div>
<div class="colist arabic"><ol><li><p>You type your username and password.</p></li>
<li><p>The stored credentials are used.</p></li></ol></div></div></div></div>
<div id="footnotes"><hr /></div>
<div id="footer"><div id="footer-text">Last updated 2024-05-31 00:35:55 UTC</div></div>
</body></html>"""


def test_asciidoc_man_page_keeps_its_name_line_and_its_notes_as_text() -> None:
    doc = load_file("git-doc/git-credential-store.html", ASCIIDOC.encode())
    assert doc.title == "git-credential-store(1)"
    blocks = {b.section: b.text for b in doc.blocks}
    assert list(blocks) == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES"]
    # the NAME section sits in the page's header, outside its content, without the title
    assert blocks["NAME"] == "git-credential-store - Helper to store credentials on disk"
    assert doc.metadata["summary"] == "Helper to store credentials on disk"
    assert blocks["SYNOPSIS"] == "```\ngit config credential.helper 'store [<options>]'\n```"
    # a note is its label and its text, not a Markdown table headed "| Note |"
    assert blocks["DESCRIPTION"] == (
        "Note\n\nUsing this helper will store your passwords unencrypted on disk, protected"
        " only by filesystem permissions. Try git-credential-cache(1).\n\n"
        "This command stores credentials indefinitely on disk."
    )
    assert blocks["OPTIONS"] == "--file=<path>\n\nUse `<path>` to look up and store credentials."
    # callouts <1>, <2> in the code refer to the list's items by their numbers
    assert blocks["EXAMPLES"].endswith(
        "<2>\n```\n\n1. You type your username and password.\n\n2. The stored credentials are used."
    )
    assert "Last updated" not in "\n".join(blocks.values())
    # AsciiDoc writes CR LF: code keeps line ends as a browser reads them
    crlf = load_file("git-credential-store.html", ASCIIDOC.replace("\n", "\r\n").encode())
    assert [b.text for b in crlf.blocks] == list(blocks.values())


def test_ordered_lists_are_numbered_as_a_browser_numbers_them() -> None:
    page = """<html><body><ol start="3"><li>third</li><li>fourth</li></ol>
    <ol type="a"><li>first</li><li>second</li></ol></body></html>"""
    assert load_file("lists.html", page.encode()).blocks[0].text == (
        "3. third\n\n4. fourth\n\na. first\n\nb. second"
    )


def _index_page(entries: int) -> str:
    rows = "".join(
        f'<tr><td><a href="m{n}.html"><code>module{n}</code></a></td><td></td></tr>'
        for n in range(entries)
    )
    return f"<html><head><title>Module Index</title></head><body><h1>Module Index</h1>\
<table>{rows}</table></body></html>"


def test_a_page_of_links_is_marked_and_a_chapter_toc_page_is_kept() -> None:
    assert load_file("py-modindex.html", _index_page(40).encode()).metadata["doc_kind"] == "links"
    # a chapter page that is only its table of contents is still a (links) document
    toc = "".join(f'<dt><a href="s{n}.html">{n}. Section {n}</a></dt>' for n in range(30))
    chapter = f"""<html><head><title>Chapter 1</title></head><body><div class="chapter">
    <h2>Chapter 1. Getting Started</h2><div class="toc"><dl class="toc">{toc}</dl></div>
    </div></body></html>"""
    doc = load_file("tutorial-start.html", chapter.encode())
    assert doc.metadata["doc_kind"] == "links"
    assert "Section 29" in doc.blocks[-1].text
    # a short one with its caption, as PostgreSQL's "Chapter 71. BRIN Indexes" page: too few
    # links for their share to tell, but the page holds nothing else
    entries = "".join(
        f'<dt><span class="sect1"><a href="brin-{n}.html">71.{n}. Part {n}</a></span></dt>'
        for n in range(1, 4)
    )
    brin = f"""<html><head><title>Chapter 71. BRIN Indexes</title></head><body><div
    class="chapter"><h2 class="title">Chapter 71. BRIN Indexes</h2><div class="toc"><p><strong>Table
    of Contents</strong></p><dl class="toc">{entries}</dl></div></div></body></html>"""
    doc = load_file("brin.html", brin.encode())
    assert doc.metadata["doc_kind"] == "links" and "71.3. Part 3" in doc.blocks[-1].text
    # a sentence that only says what the chapter's sections hold (PostgreSQL's "Chapter 30.
    # Reliability and the Write-Ahead Log", m4's "8 Input control") is no more than its TOC
    signpost = "<p>This chapter explains how the write-ahead log is used.</p>"
    doc = load_file("wal.html", brin.replace("</h2>", "</h2>" + signpost).encode())
    assert doc.metadata["doc_kind"] == "links"
    assert doc.blocks[0].text == "This chapter explains how the write-ahead log is used."
    # a description longer than that is content (PostgreSQL's "F.12. dblink")
    dblink = (
        "<p><code>dblink</code> is a module that supports connections to other PostgreSQL "
        "databases from within a database session.</p><p>See also postgres_fdw, which "
        "provides roughly the same functionality using a more modern and standards-compliant "
        "infrastructure.</p>"
    )
    doc = load_file("dblink.html", brin.replace("</h2>", "</h2>" + dblink).encode())
    assert "doc_kind" not in doc.metadata
    # with prose beside it, the chapter's TOC is dropped and the page is content
    prose = "<p>" + "Indexes make queries faster but cost writes. " * 20 + "</p>"
    doc = load_file("indexes.html", chapter.replace("</h2>", "</h2>" + prose).encode())
    assert "doc_kind" not in doc.metadata and "Section" not in doc.blocks[0].text


def test_release_notes_are_marked_as_changelog() -> None:
    page = "<html><head><title>E.1. Release 15.18</title></head><body><p>Fixes.</p></body></html>"
    assert load_file("release-15-18.html", page.encode()).metadata["doc_kind"] == "changelog"
    # as an ingested folder names it, and by its numbered title alone
    assert load_file("html/release-15-2.html", page.encode()).metadata["doc_kind"] == ("changelog")
    assert page_kind("E.19. Release 15.2", "html/e19.html") == "changelog"
    assert page_kind("Chapter 26. Backup and Restore", "html/backup.html") == ""
    assert page_kind("2.4. Populating a Table With Rows", "html/tutorial-populate.html") == ""
    # a page about changes is not a list of them
    assert page_kind("39.2. Visibility of Data Changes", "html/trigger-datachanges.html") == ""
    assert page_kind("Summary of Changes since Protocol 2.0", "html/p.html") == "changelog"
    assert page_kind("Changes", "CHANGES.md") == "changelog"
    assert page_kind("Changes in Python 3.12", "docs/py312.html") == "changelog"
    assert page_kind("Changes in this release", "docs/upgrading.html") == "changelog"
    assert page_kind("News", "docs/index.html") == "changelog"
    assert page_kind("Project news", "docs/updates.md") == "changelog"
    assert page_kind("Home", "NEWS.html") == "changelog"
    assert page_kind("Tracking changes in a file", "docs/blame.html") == ""
    assert page_kind("Undo changes in the working tree", "docs/restore.html") == ""
    assert page_kind("Reading news feeds with feedparser", "docs/feeds.html") == ""
    assert page_kind("FastAPI and friends newsletter", "docs/newsletter.md") == ""
    whatsnew = "<html><head><title>What\u2019s New In Python 3.11</title></head><body><p>x</p>"
    assert load_file("html/whatsnew/3.11.html", whatsnew.encode()).metadata["doc_kind"] == (
        "changelog"
    )
    assert load_file("docs/release-notes.md", b"# Release Notes\n\nFixes.").metadata == {
        "path": "docs/release-notes.md",
        "format": "markdown",
        "doc_kind": "changelog",
    }


def test_a_code_block_cut_across_chunks_is_fenced_in_each_part() -> None:
    code = "\n".join(f"    value_{n} = compute(value_{n - 1}, factor={n})" for n in range(60))
    block = Block(f"Run this:\n\n```python\n{code}\n```\n\nDone.", "Guide")
    chunks = chunk_blocks([block], 120, 20)
    assert len(chunks) > 2
    for c in chunks:
        fences = [line for line in c.text.split("\n") if line.startswith("```")]
        assert len(fences) % 2 == 0, c.text  # every opened fence is closed in the chunk
        if "value_" in c.text:
            assert c.text.count("```python") == 1
    assert chunks[1].text.startswith("```python\n")


def test_a_long_table_is_cut_by_rows_with_its_header_repeated() -> None:
    rows = "\n".join(
        f"| `option_{n}` | sets the value number {n} of the server |" for n in range(80)
    )
    block = Block(f"Options:\n\n| Option | Meaning |\n| --- | --- |\n{rows}", "Reference")
    chunks = chunk_blocks([block], 120, 20)
    assert len(chunks) > 2
    for c in chunks:
        rows_in = [line for line in c.text.split("\n") if line.startswith("| `option_")]
        assert rows_in, c.text
        assert "| Option | Meaning |\n| --- | --- |\n" in c.text
        assert all(line.startswith("|") and line.endswith("|") for line in rows_in)


def test_a_note_heading_is_a_label_and_a_one_column_table_is_read_as_blocks() -> None:
    page = """<html><head><title>9.4. String Functions</title></head><body>
    <div class="sect1"><h2 class="title">9.4. String Functions</h2>
    <div class="note"><h3 class="title">Note</h3><p>The operator accepts non-string input.</p>
    </div><p>After the note.</p>
    <div class="table"><table class="table"><thead><tr><th><p>Function</p><p>Description</p>
    </th></tr></thead><tbody><tr><td><p><code class="function">bit_length</code> (
    <code class="type">text</code> ) &#8594; <code class="type">integer</code></p>
    <p>Returns number of bits in the string.</p></td></tr></tbody></table></div></div>
    </body></html>"""
    doc = load_file("functions-string.html", page.encode())
    assert [b.section for b in doc.blocks] == ["9.4. String Functions"]
    assert doc.blocks[0].text == (
        "Note\n\nThe operator accepts non-string input.\n\nAfter the note.\n\n"
        "Function\n\nDescription\n\n`bit_length` ( `text` ) \u2192 `integer`\n\n"
        "Returns number of bits in the string."
    )


def test_a_table_is_never_cut_between_its_header_and_its_rule() -> None:
    prose = "The exception codes map to the exceptions described above. " * 12
    rows = "\n".join(f"| `CODE_{n}` | SomeVeryLongExceptionName{n} |" for n in range(30))
    block = Block(f"{prose}\n\n| Constant | Exception |\n| --- | --- |\n{rows}", "DOM")
    for c in chunk_blocks([block], 100, 20):
        lines = c.text.split("\n")
        for i, line in enumerate(lines):
            if line == "| --- | --- |":
                assert i > 0 and lines[i - 1] == "| Constant | Exception |", c.text
        assert not c.text.startswith("| --- |"), c.text
