"""Pages of built documentation sites (snippets trimmed from real builds: Docusaurus 3.9's
and 3.10's classic template, attrs' docs with Furo, sphinx_rtd_theme and pydata-sphinx-theme):
what a reader sees is kept, the theme's navigation is not
(docs/decisions/0050-built-doc-sites.md)."""

from __future__ import annotations

from ingest.loaders import load_file

# Docusaurus minifies its pages: no `</li>`, `</td>`, `</tr>`, `</th>`, unquoted attributes;
# the page's `<h1>` sits in its article's `<header>`.
DOCUSAURUS_DOC = """<!doctype html><html lang=en dir=ltr class="docs-wrapper plugin-docs
plugin-id-default docs-version-current docs-doc-page docs-doc-id-intro"><head><meta
charset=UTF-8><meta name=generator content="Docusaurus v3.9.2"><title data-rh=true>Tutorial
Intro | My Site</title></head><body class=navigation-with-keyboard><div
role=region aria-label="Skip to main content"><a class=skipToContent_fXgn
href=#__docusaurus_skipToContent_fallback>Skip to main content</a></div><div
id=__docusaurus><nav aria-label=Main class="theme-layout-navbar navbar"><a
class="navbar__item navbar__link" href=/docs/intro>Tutorial</a></nav><div
id=__docusaurus_skipToContent_fallback class="theme-layout-main main-wrapper"><div
class=docsWrapper_hBAB><main class=docMainContainer_TBSr><div class="container
padding-top--md padding-bottom--lg"><div class=row><div class="col docItemCol_VOVn"><div
class=docItemContainer_Djhp><article><nav class="theme-doc-breadcrumbs" aria-label=Breadcrumbs>
<ul class=breadcrumbs><li class=breadcrumbs__item><a aria-label="Home page"
class=breadcrumbs__link href=/></a><li class="breadcrumbs__item breadcrumbs__item--active">
<span class=breadcrumbs__link>Tutorial Intro</span></ul></nav><div class="tocCollapsible_ETCw
theme-doc-toc-mobile tocMobile_ITEo"><button type=button class="clean-btn">On this page</button>
</div><div class="theme-doc-markdown markdown"><header><h1>Tutorial Intro</h1></header>
<p>Let's discover <strong>Docusaurus in less than 5 minutes</strong>.</p>
<h2 class="anchor anchorTargetStickyNavbar_Vzrq" id=start-your-site>Start your site<a
href=#start-your-site class=hash-link aria-label="Direct link to Start your site"
title="Direct link to Start your site" translate=no>\u200b</a></h2>
<p>Run the development server:</p>
<div class="language-bash codeBlockContainer_Ckt0 theme-code-block"><div
class=codeBlockContent_QJqH><pre tabindex=0 class="prism-code language-bash codeBlock_bY9V
thin-scrollbar"><code class=codeBlockLines_e6Vv><div class=token-line><span class="token
plain">cd my-website</span><br/></div><div class=token-line><span class="token plain"
>npm run start</span><br/></div></code></pre></div></div>
<h2 class="anchor anchorTargetStickyNavbar_Vzrq" id=commands>Commands<a href=#commands
class=hash-link aria-label="Direct link to Commands" title="Direct link to Commands"
translate=no>\u200b</a></h2>
<table><thead><tr><th>Command<th>What it does<tbody><tr><td><code>npm run start</code><td>Starts
the development server.<tr><td><code>npm run build</code><td>Builds the site into
<code>build</code>.</table></div><footer class="theme-doc-footer docusaurus-mt-lg"><div
class="row margin-top--sm theme-doc-footer-edit-meta-row"><div class="col noPrint_WFHX"><a
href=https://github.com/facebook/docusaurus/tree/main/docs/intro.mdx target=_blank
class=theme-edit-this-page>Edit this page</a></div></div></footer></article><nav
class="docusaurus-mt-lg pagination-nav" aria-label="Docs pages"><a class="pagination-nav__link
pagination-nav__link--next" href=/docs/category/tutorial---basics><div
class=pagination-nav__sublabel>Next</div><div class=pagination-nav__label>Tutorial -
Basics</div></a></nav></div></div><div class="col col--3"><div class="tableOfContents_bqdL
thin-scrollbar theme-doc-toc-desktop"><ul class="table-of-contents"><li><a
href=#start-your-site class="table-of-contents__link toc-highlight">Start your site</a><li><a
href=#commands class="table-of-contents__link toc-highlight">Commands</a></ul></div></div></div>
</div></main></div></div><footer class="theme-layout-footer footer footer--dark"><div
class="footer__bottom text--center"><div class=footer__copyright>Copyright \u00a9 2026 My
Project, Inc. Built with Docusaurus.</div></div></footer></div></body></html>"""


def test_docusaurus_doc_page_keeps_its_heading_code_and_table() -> None:
    doc = load_file("docs/intro/index.html", DOCUSAURUS_DOC.encode())
    assert doc.title == "Tutorial Intro"
    assert doc.metadata.get("doc_kind") is None
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("Tutorial Intro", "Let's discover Docusaurus in less than 5 minutes."),
        (
            "Tutorial Intro > Start your site",
            "Run the development server:\n\n```bash\ncd my-website\nnpm run start\n```",
        ),
        (
            "Tutorial Intro > Commands",
            "| Command | What it does |\n| --- | --- |\n"
            "| `npm run start` | Starts the development server. |\n"
            "| `npm run build` | Builds the site into `build`. |",
        ),
    ]


DOCUSAURUS_TAG = """<!doctype html><html lang=en dir=ltr class="blog-wrapper
blog-tags-post-list-page plugin-blog plugin-id-default"><head><title data-rh=true>One post
tagged with "Facebook" | My Site</title></head><body><div id=__docusaurus><div
class="container margin-vert--lg"><div class=row><main class="col col--7"><header
class=margin-bottom--xl><h1>One post tagged with "Facebook"</h1><p>Facebook tag
description</p><a href=/blog/tags>View All Tags</a></header><article class=margin-bottom--xl>
<header><h2 class=title_f1Hy><a href=/blog/welcome>Welcome</a></h2><div
class="container_mt6G margin-vert--md"><time datetime=2021-08-26T00:00:00.000Z>August 26,
2021</time> \u00b7 <!-- -->One min read</div></header><div class=markdown><p><a
href=https://docusaurus.io/docs/blog>Docusaurus blogging features</a> are powered by the
<a href=https://docusaurus.io/docs/api/plugins/@docusaurus/plugin-content-blog>blog
plugin</a>.</p></div><footer class="row docusaurus-mt-lg"><div class="col text--right"><a
href=/blog/welcome aria-label="Read more about Welcome"><b>Read more</b></a></div></footer>
</article></main></div></div></div></body></html>"""

DOCUSAURUS_ARCHIVE = """<!doctype html><html lang=en dir=ltr class="plugin-blog
plugin-id-default"><head><title data-rh=true>Archive | My Site</title></head><body><div
id=__docusaurus><div id=__docusaurus_skipToContent_fallback class="theme-layout-main
main-wrapper"><header class="hero hero--primary"><div class=container><h1
class=hero__title>Archive</h1><p class=hero__subtitle>Archive</div></header><main><section
class=margin-vert--lg><div class=container><div class=row><div class="col col--4
margin-vert--lg"><h3 class=anchor id=2021>2021</h3><ul><li><a href=/blog/mdx-blog-post>August
1<!-- --> - <!-- -->MDX Blog Post</a><li><a href=/blog/welcome>August 26<!-- --> - <!--
-->Welcome</a></ul></div><div class="col col--4 margin-vert--lg"><h3 class=anchor
id=2019>2019</h3><ul><li><a href=/blog/first-blog-post>May 28<!-- --> - <!-- -->First Blog
Post</a><li><a href=/blog/long-blog-post>May 29<!-- --> - <!-- -->Long Blog
Post</a></ul></div></div></div></section></main></div></div></body></html>"""


def test_docusaurus_blog_lists_are_links_pages_with_every_item_marked() -> None:
    tag = load_file("blog/tags/facebook/index.html", DOCUSAURUS_TAG.encode())
    assert tag.metadata["doc_kind"] == "links"  # the posts' first paragraphs again
    assert "Read more" not in "\n".join(b.text for b in tag.blocks)
    archive = load_file("blog/archive/index.html", DOCUSAURUS_ARCHIVE.encode())
    assert archive.metadata["doc_kind"] == "links"  # 4 links and nothing else
    assert [(b.section, b.text) for b in archive.blocks] == [
        ("2021", "- August 1 - MDX Blog Post\n\n- August 26 - Welcome"),
        ("2019", "- May 28 - First Blog Post\n\n- May 29 - Long Blog Post"),
    ]


def _docusaurus_docs_page(html_id: str, title: str, content: str) -> str:
    """A page of Docusaurus 3.10's docs around `content` (its `<main>`'s), trimmed."""
    return f"""<!doctype html><html lang=en dir=ltr class="docs-wrapper plugin-docs
plugin-id-default docs-version-current docs-doc-page{html_id}"><head><title
data-rh=true>{title} | My Site</title></head><body><div id=__docusaurus><div
id=__docusaurus_skipToContent_fallback class="theme-layout-main main-wrapper"><div
class=docsWrapper_hBAB><div class=docRoot_UBD9><main class=docMainContainer_TBSr><div
class="container padding-top--md padding-bottom--lg">{content}</div></main></div></div></div>
</div></body></html>"""


def _docusaurus_card(href: str, title: str, description: str) -> str:
    """A doc's card (`DocCard`): a link holding its title and its description."""
    return f"""<article class="docCardListItem_W1sv col col--6"><a class="card padding--lg
theme-doc-card-container cardContainer_KhuF" href={href}><h2 class="theme-doc-card-heading
cardTitle_mcqP" title="{title}"><span class="theme-doc-card-icon cardTitleIcon_GcdP"
>\U0001f4c4\ufe0f</span><span class="text--truncate theme-doc-card-title cardTitleText_nuEl"
>{title}</span></h2><p class="text--truncate theme-doc-card-description cardDescription_L2fP"
title="{description}">{description}</p></a></article>"""


def _docusaurus_category_page(title: str, description: str, cards: list[str]) -> str:
    """A category's generated index (`DocCategoryGeneratedIndexPage`): no Markdown, and
    its `<html>` is a doc's without `docs-doc-id-...`."""
    description = f"<p>{description}" if description else ""
    return _docusaurus_docs_page(
        "",
        title,
        f"""<div class=generatedIndexPage_vN6x><nav class="theme-doc-breadcrumbs
breadcrumbsContainer_Z_bl" aria-label=Breadcrumbs><ul class=breadcrumbs><li
class="breadcrumbs__item breadcrumbs__item--active"><span class=breadcrumbs__link
>{title}</span></ul></nav><header><h1 class=title_kItE>{title}</h1>{description}</header
><article class=margin-top--lg><section class=row>{"".join(cards)}</section></article><footer
class=margin-top--md><nav class=pagination-nav aria-label="Docs pages"><a
class="pagination-nav__link pagination-nav__link--prev" href=/docs/intro><div
class=pagination-nav__sublabel>Previous</div><div class=pagination-nav__label>Tutorial
Intro</div></a></nav></footer></div>""",
    )


# The classic template's two categories: one with a description (6 cards, 3 kept), one
# with 2 cards.
DOCUSAURUS_CATEGORY = _docusaurus_category_page(
    "Tutorial - Basics",
    "5 minutes to learn the most important Docusaurus concepts.",
    [
        _docusaurus_card(
            "/docs/tutorial-basics/create-a-page",
            "Create a Page",
            "Add Markdown or React files to src/pages to create a standalone page:",
        ),
        _docusaurus_card(
            "/docs/tutorial-basics/create-a-document",
            "Create a Document",
            "Documents are groups of pages connected through:",
        ),
        _docusaurus_card(
            "/docs/tutorial-basics/markdown-features",
            "Markdown Features",
            "Docusaurus supports Markdown and a few additional features.",
        ),
    ],
)
DOCUSAURUS_CATEGORY_OF_TWO = _docusaurus_category_page(
    "Tutorial - Extras",
    "",
    [
        _docusaurus_card(
            "/docs/tutorial-extras/manage-docs-versions",
            "Manage Docs Versions",
            "Docusaurus can manage multiple versions of your docs.",
        ),
        _docusaurus_card(
            "/docs/tutorial-extras/translate-your-site",
            "Translate your site",
            "Let's translate docs/intro.md to French.",
        ),
    ],
)
# A category's own doc showing the same cards (`<DocCardList />`) inside its text.
GUIDES = [
    _docusaurus_card("/docs/guides/analytics", "Analytics", "Count visits without cookies."),
    _docusaurus_card("/docs/guides/search", "Search", "Add a search bar with a local index."),
    _docusaurus_card("/docs/guides/theming", "Theming", "Change colours and fonts with CSS."),
]
DOCUSAURUS_DOC_WITH_CARDS = _docusaurus_docs_page(
    " docs-doc-id-guides/overview",
    "Guides",
    f"""<div class=row><div class="col docItemCol_VOVn"><div class=docItemContainer_Djhp
><article><div class="theme-doc-markdown markdown"><header><h1>Guides</h1></header>
<!-- -->
<p>Each guide walks through one task from start to finish. Read them in order the first
time: later guides assume the site you built in the earlier ones.</p>
<section class=row>{"".join(GUIDES)}</section>
<p>When you are done, deploy the site as the basics tutorial shows.</div></article></div>
</div></div>""",
)


def test_docusaurus_category_index_is_a_links_page() -> None:
    """With a description or with 2 cards: the cards repeat the docs' own descriptions."""
    basics = load_file("docs/category/tutorial---basics/index.html", DOCUSAURUS_CATEGORY.encode())
    assert basics.metadata["doc_kind"] == "links"
    assert basics.blocks[0].text.startswith(
        "5 minutes to learn the most important Docusaurus concepts.\n\n"
        "\U0001f4c4\ufe0fCreate a Page Add Markdown or React files"
    )
    extras = load_file(
        "docs/category/tutorial---extras/index.html", DOCUSAURUS_CATEGORY_OF_TWO.encode()
    )
    assert extras.metadata["doc_kind"] == "links"
    assert [(b.section, b.text) for b in extras.blocks] == [
        (
            "Tutorial - Extras",
            "\U0001f4c4\ufe0fManage Docs Versions Docusaurus can manage multiple versions of"
            " your docs.\n\n\U0001f4c4\ufe0fTranslate your site Let's translate docs/intro.md"
            " to French.",
        )
    ]


def test_docusaurus_doc_with_cards_in_its_text_is_not_a_links_page() -> None:
    doc = load_file("docs/guides/overview/index.html", DOCUSAURUS_DOC_WITH_CARDS.encode())
    assert doc.metadata.get("doc_kind") is None
    assert doc.blocks[0].text.startswith("Each guide walks through one task")
    assert doc.blocks[-1].text.endswith("deploy the site as the basics tutorial shows.")


FURO = """<!doctype html><html class="no-js" lang="en" data-content_root="./"><head>
<meta name="generator" content="sphinx-9.0.4, furo 2025.12.19"/>
<title>Hashing - attrs 26.1.0 documentation</title></head><body>
<a class="skip-to-content muted-link" href="#furo-main-content">Skip to content</a>
<div class="page"><header class="mobile-header"><div class="header-center"><a
href="index.html"><div class="brand">attrs 26.1.0 documentation</div></a></div></header>
<aside class="sidebar-drawer"><div class="sidebar-container"><div class="sidebar-tree">
<ul><li class="toctree-l1"><a class="reference internal" href="overview.html">Overview</a></li>
</ul></div></div></aside>
<div class="main"><div class="content"><div class="article-container">
<a href="#" class="back-to-top muted-link"><span>Back to top</span></a>
<article role="main" id="furo-main-content"><section id="hashing">
<h1>Hashing<a class="headerlink" href="#hashing" title="Link to this heading">\u00b6</a></h1>
<p>To enable caching of hash codes, pass <code class="docutils literal notranslate"><span
class="pre">&#64;define(cache_hash=True)</span></code>.<a class="footnote-reference brackets"
href="#fn1" id="id1" role="doc-noteref"><span class="fn-bracket">[</span>1<span
class="fn-bracket">]</span></a></p>
<div class="highlight-pycon notranslate"><div class="highlight"><pre><span></span><span
class="gp">&gt;&gt;&gt; </span><span class="nd">@define</span><span class="p">(</span><span
class="n">cache_hash</span><span class="o">=</span><span class="kc">True</span><span
class="p">)</span>
<span class="gp">... </span><span class="k">class</span><span class="w"> </span><span
class="nc">C</span><span class="p">:</span>
</pre></div></div>
<hr class="footnotes docutils" />
<aside class="footnote-list brackets">
<aside class="footnote brackets" id="fn1" role="doc-footnote">
<span class="label"><span class="fn-bracket">[</span><a role="doc-backlink"
href="#id1">1</a><span class="fn-bracket">]</span></span>
<p>The hash is computed by hashing a tuple of the attribute values.</p>
</aside></aside></section></article></div>
<footer><div class="related-pages"><a class="next-page" href="api.html"><div
class="page-info"><div class="context"><span>Next</span></div><div class="title">API
Reference</div></div></a></div><div class="bottom-of-page"><div class="left-details"><div
class="copyright">Copyright &#169; 2015, Hynek Schlawack</div>Made with <a
href="https://www.sphinx-doc.org/">Sphinx</a></div></div></footer></div>
<aside class="toc-drawer"><div class="toc-sticky toc-scroll"><div
class="toc-title-container"><span class="toc-title">On this page</span></div></div></aside>
</div></div></body></html>"""


def test_furo_page_keeps_its_code_and_footnotes_without_the_theme() -> None:
    doc = load_file("docs/hashing.html", FURO.encode())
    assert doc.title == "Hashing"
    assert [(b.section, b.text) for b in doc.blocks] == [
        (
            "Hashing",
            "To enable caching of hash codes, pass `@define(cache_hash=True)`.[1]\n\n"
            "```pycon\n>>> @define(cache_hash=True)\n... class C:\n```\n\n"
            "[1]\n\nThe hash is computed by hashing a tuple of the attribute values.",
        )
    ]


PYDATA = """<!DOCTYPE html><html lang="en" data-content_root="./"><head><title>Hashing
&#8212; attrs 26.1.0 documentation</title></head><body data-bs-spy="scroll">
<div id="pst-skip-link" class="skip-link d-print-none"><a href="#main-content">Skip to main
content</a></div><header class="bd-header navbar navbar-expand-lg bd-navbar d-print-none">
<a class="navbar-brand logo" href="index.html"><p class="title logo__title">attrs</p></a>
</header><div class="bd-container"><div class="bd-container__inner bd-page-width">
<div class="bd-sidebar-primary bd-sidebar"><div class="sidebar-primary-items__start">
<p aria-level="2" class="caption" role="heading"><span class="caption-text">Getting
Started</span></p></div></div>
<main id="main-content" class="bd-main" role="main"><div class="bd-content"><div
class="bd-article-container"><div class="bd-header-article d-print-none"><div
class="header-article-items header-article__inner"><nav aria-label="Breadcrumb"><ul
class="bd-breadcrumbs"><li class="breadcrumb-item active" aria-current="page"><span
class="ellipsis">Hashing</span></li></ul></nav></div></div>
<article class="bd-article"><section id="hashing"><h1>Hashing<a class="headerlink"
href="#hashing" title="Link to this heading">#</a></h1>
<p>Under certain circumstances, it\u2019s necessary for objects to be <em>hashable</em>.</p>
</section></article>
<footer class="prev-next-footer d-print-none"><div class="prev-next-area"><a
class="left-prev" href="comparison.html" title="previous page"><div
class="prev-next-info"><p class="prev-next-subtitle">previous</p><p
class="prev-next-title">Comparison</p></div></a></div></footer></div>
<div id="pst-secondary-sidebar" class="bd-sidebar-secondary bd-toc"><div
class="sidebar-secondary-items sidebar-secondary__inner"><div class="sidebar-secondary-item">
<div id="pst-page-navigation-heading-2" class="page-toc tocsection onthispage"><i
class="fa-solid fa-list"></i> On this page</div><nav id="pst-page-toc-nav"
class="page-toc"><ul><li class="toc-h2 nav-item toc-entry"><a class="reference internal
nav-link" href="#hash-code-caching">Hash Code Caching</a></li></ul></nav></div></div></div>
</div><footer class="bd-footer-content"></footer></main></div></div></body></html>"""


def test_pydata_sphinx_theme_page_without_on_this_page() -> None:
    doc = load_file("docs/hashing.html", PYDATA.encode())
    assert doc.title == "Hashing"
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("Hashing", "Under certain circumstances, it\u2019s necessary for objects to be hashable.")
    ]


MODINDEX = """<!DOCTYPE html><html><head><title>Python Module Index &mdash; attrs 26.1.0
documentation</title></head><body><div role="main" class="document"><div
itemprop="articleBody"><h1>Python Module Index</h1><div class="modindex-jumpbox"><a
href="#cap-a"><strong>a</strong></a></div><table class="indextable modindextable"><tr
class="pcap"><td></td><td>&#160;</td><td></td></tr><tr class="cap" id="cap-a"><td></td><td>
<strong>a</strong></td><td></td></tr><tr><td></td><td><a href="api-attr.html#module-attr"><code
class="xref">attr</code></a></td><td><em></em></td></tr><tr><td></td><td><a
href="api.html#module-attrs"><code class="xref">attrs</code></a></td><td><em></em></td></tr>
</table></div></div></body></html>"""


def test_a_sphinx_module_index_of_a_small_project_is_a_links_page() -> None:
    doc = load_file("docs/py-modindex.html", MODINDEX.encode())
    assert doc.title == "Python Module Index"
    assert doc.metadata["doc_kind"] == "links"


RTD = """<!DOCTYPE html><html class="writer-html5" lang="en"><head><title>Hashing &mdash; attrs
26.1.0 documentation</title></head><body class="wy-body-for-nav"><div class="wy-grid-for-nav">
<nav data-toggle="wy-nav-shift" class="wy-nav-side"><div class="wy-side-scroll"><div
class="wy-side-nav-search"><a href="index.html" class="icon icon-home">attrs</a></div><div
class="wy-menu wy-menu-vertical" data-spy="affix" role="navigation" aria-label="Navigation
menu"><p class="caption" role="heading"><span class="caption-text">Getting
Started</span></p></div></div></nav>
<section data-toggle="wy-nav-shift" class="wy-nav-content-wrap"><nav class="wy-nav-top"
aria-label="Mobile navigation menu"><a href="index.html">attrs</a></nav><div
class="wy-nav-content"><div class="rst-content"><div role="navigation" aria-label="Page
navigation"><ul class="wy-breadcrumbs"><li><a href="index.html" class="icon icon-home"
aria-label="Home"></a></li><li class="breadcrumb-item active">Hashing</li></ul><hr/></div>
<div role="main" class="document" itemscope="itemscope"
itemtype="http://schema.org/Article"><div itemprop="articleBody"><section id="hashing">
<h1>Hashing<a class="headerlink" href="#hashing" title="Link to this heading"></a></h1>
<div class="admonition warning"><p class="admonition-title">Warning</p><p>Leave it at <code
class="docutils literal notranslate"><span class="pre">None</span></code>.</p></div>
</section></div></div>
<footer><div class="rst-footer-buttons" role="navigation" aria-label="Footer"><a
href="comparison.html" class="btn btn-neutral float-left" title="Comparison" accesskey="p"
rel="prev"><span class="fa fa-arrow-circle-left" aria-hidden="true"></span> Previous</a></div>
<hr/><div role="contentinfo"><p>&#169; Copyright 2015, Hynek Schlawack.</p></div>Built with
<a href="https://www.sphinx-doc.org/">Sphinx</a> using a <a
href="https://github.com/readthedocs/sphinx_rtd_theme">theme</a> provided by <a
href="https://readthedocs.org">Read the Docs</a>.</footer></div></div></section></div>
</body></html>"""


def test_sphinx_rtd_theme_page_is_its_article_body() -> None:
    doc = load_file("docs/hashing.html", RTD.encode())
    assert doc.title == "Hashing"
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("Hashing", "Warning\n\nLeave it at `None`.")
    ]


def test_a_paragraph_a_paragraph_closes_keeps_the_page_order() -> None:
    """Python's sqlite3 page (Sphinx) opens a `<p>` inside a field's `<p>`; a browser closes
    the first where the second begins, so what follows reads in the page's order."""
    page = (
        "<html><head><title>sqlite3</title></head><body><div role=main><h1>sqlite3</h1>"
        "<ul><li><p><strong>aggregate_class</strong> (class | None) \u2013 "
        "<p>A class must implement the following methods:</p>"
        "<ul><li><p><code>step()</code>: Add a row to the aggregate.</p></li></ul>"
        "<p>The number of arguments is controlled by <em>n_arg</em>.</p>"
        "<p>Set to <code>None</code> to remove an existing SQL aggregate function.</p>"
        "</p></li></ul></div></body></html>"
    )
    text = load_file("library/sqlite3.html", page.encode()).blocks[0].text
    order = [
        "aggregate_class",
        "A class must implement",
        "- `step()`",
        "The number of arguments",
        "Set to `None`",
    ]
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
