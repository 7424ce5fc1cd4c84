"""Text is cleaned per format before chunking: no markup in chunk text, titles or sections,
code kept as code with its line breaks. Inputs are written here, shaped like the MkDocs,
Sphinx and PDF files of issue 20."""

from __future__ import annotations

from ingest.loaders import load_file
from tests.ingest.pdfs import make_pdf

MKDOCS = """# First Steps { #first-steps }

Run the <abbr title="Asynchronous Server Gateway Interface">ASGI</abbr> server, see
**[the docs](https://example.org)** and *this*: <img src="x.png" alt="logo">

<div class="termy">

```console
$ <font color="#4E9A06">fastapi</font> dev main.py
INFO: started
```

</div>

/// note | Technical Details

The `app` is an instance of `FastAPI`.

///

!!! tip "Good to know"
    Indented admonition body is prose,
    not code.

??? warning
    Collapsed body.

{* ../../docs_src/first_steps/tutorial001.py hl[3] *}

## Check the `path` { #check-it }

```Python hl_lines="2"
def f(a, b):
    return a < b
```

| Name | Kind |
| --- | --- |
| `q` | query |
"""


def test_markdown_keeps_text_and_code_and_drops_markup() -> None:
    doc = load_file("docs/first-steps.md", MKDOCS.encode())
    assert doc.title == "First Steps"
    assert [b.section for b in doc.blocks] == ["First Steps", "First Steps > Check the path"]
    first, second = (b.text for b in doc.blocks)
    assert first == (
        "Run the ASGI server, see the docs and this:\n\n"
        "```console\n$ fastapi dev main.py\nINFO: started\n```\n\n"
        "Technical Details\n\n"
        "The `app` is an instance of `FastAPI`.\n\n"
        "Good to know\n\n"
        "Indented admonition body is prose, not code.\n\n"
        "Collapsed body."
    )
    assert second == (
        "```Python\ndef f(a, b):\n    return a < b\n```\n\n"
        "| Name | Kind |\n| --- | --- |\n| `q` | query |"
    )


SPHINX = """<html><head><title>Install &#8212; Demo docs</title></head><body>
<div class="related" role="navigation"><h3>Navigation</h3><ul><li><a href="#">index</a></li>
</ul></div>
<header><p>Site header</p></header><nav><ul><li>Home</li></ul></nav>
<div class="body"><h1>Install<a class="headerlink" href="#install">\u00b6</a></h1>
<p>Use <abbr title="pip installs packages">pip</abbr>:</p>
<pre>pip install demo
demo --help</pre>
<h2>Next<a class="headerlink" href="#next">\u00b6</a></h2><p>Read more.</p></div>
<div class="sphinxsidebar"><h3>Quick search</h3><p>search box</p></div>
<aside><p>Aside</p></aside><footer><p>Copyright</p></footer></body></html>"""


def test_html_drops_navigation_and_headerlinks_and_keeps_code_lines() -> None:
    doc = load_file("install.html", SPHINX.encode())
    assert doc.title == "Install"  # without the site's name
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("Install", "Use pip:\n\n```\npip install demo\ndemo --help\n```"),
        ("Install > Next", "Read more."),
    ]


def test_pdf_joins_line_end_hyphenation_and_uses_its_own_title() -> None:
    pdf = make_pdf(["Pages contain-\ning words; Jean-\nPaul keeps his."], title="The Real Title")
    doc = load_file("scans/file-name.pdf", pdf)
    assert doc.title == "The Real Title"
    assert doc.blocks[0].text == "Pages containing words; Jean-\nPaul keeps his."
    assert load_file("scans/file-name.pdf", make_pdf(["x"])).title == "file-name"


def test_marker_lines_inside_code_fences_stay_code() -> None:
    text = "# Rust\n\nDoc comments:\n\n```rust\n/// Example\n!!! note\nfn main() {}\n```\n"
    doc = load_file("rust.md", text.encode())
    assert doc.blocks[0].text == (
        "Doc comments:\n\n```rust\n/// Example\n!!! note\nfn main() {}\n```"
    )
