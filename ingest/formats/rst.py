"""reStructuredText, through docutils to HTML and then the HTML reader, so its sections,
tables, literal blocks and admonitions follow the same rules as a web page's.

docutils runs with file insertion and raw passthrough off (`.. include::` of
/etc/passwd reads nothing) and its messages silenced: a document using Sphinx's directives
still gives its text. Sphinx's common roles (`:func:`, `:ref:`...) are read as inline code or
text rather than left as error markup.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ingest.formats.model import Outline, Parsed

_SETTINGS: dict[str, Any] = {
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "report_level": 5,  # no system messages in the output
    "halt_level": 5,  # never stop on an error: keep what parses
    "warning_stream": io.StringIO(),
    "_disable_config": True,
    "input_encoding": "unicode",
    "embed_stylesheet": False,
    "syntax_highlight": "none",  # code blocks keep their plain text, no pygments spans
}
_CODE_ROLES = (
    "func meth class mod attr exc data obj const envvar option file program command"
    " py:func py:class py:meth py:mod py:attr c:func"
)
_TEXT_ROLES = "ref doc term abbr keyword pep rfc"
_registered = False
# docutils writes inline literals as spans; the HTML reader keeps `<code>` as inline code.
_LITERAL = re.compile(r'<span class="docutils literal">(.*?)</span>', re.DOTALL)


def _register_roles() -> None:
    global _registered
    if _registered:
        return
    from docutils import nodes
    from docutils.parsers.rst import roles

    for name in _CODE_ROLES.split():
        roles.register_generic_role(name, nodes.literal)
    for name in _TEXT_ROLES.split():
        roles.register_generic_role(name, nodes.inline)
    _registered = True


def read_rst(text: str) -> Parsed:
    from docutils.core import publish_parts
    from docutils.writers.html5_polyglot import Writer

    from ingest.html_text import html_page

    _register_roles()
    settings = dict(_SETTINGS, warning_stream=io.StringIO())
    parts = publish_parts(text, writer=Writer(), settings_overrides=settings)
    html = _LITERAL.sub(r"<code>\1</code>", str(parts["whole"]))
    page = html_page(html)
    outline = Outline()
    for path, paragraphs in page.sections:
        outline.path, outline.parts = path, list(paragraphs)
        outline.flush()
    parsed = outline.done()
    parsed.title = page.title
    return parsed
