"""What is embedded for a chunk: its context line, "document title — summary > heading
path", then the chunk's text. What is stored and shown stays the clean chunk; only the vector
sees the context (docs/decisions/0017-context-in-what-is-embedded.md). The summary is the
document's one-line purpose where it has one (a man page's NAME line, a DocBook refpurpose,
a record's `metadata.summary`): a reference page's title is only a name, "git-push(1)",
and the purpose says what it is about (docs/decisions/0051-page-summary-in-context.md).

A passage under "Security > OAuth2 with JWT" says "create a token" and little else that
names its subject; with the line, the vector knows where it sits. Measured on the FastAPI
docs (30 judged questions, vector search): see the decision record.

`RECIPE` names this way of building the embedded text. It is part of every document's
content hash (`ingest.prepare.content_hash`), so a change of recipe makes each stored
document count as changed once, and its next ingest re-embeds it.
"""

from __future__ import annotations

from app.validation import SUMMARY_SEPARATOR
from ingest.loaders import SECTION_SEPARATOR

RECIPE = "title-summary-path-v2"
SEPARATOR = "\n\n"  # between the context line and the chunk's text
# The context takes at most this share of a chunk's token budget: a page whose headings run
# long keeps most of the model's window for the text itself.
CONTEXT_SHARE = 4


def context_line(title: str, section: str, summary: str = "") -> str:
    """ "title — summary > heading > subheading", the title not repeated when the path
    starts with it (a Markdown page's H1 is both)."""
    headings = [h for h in section.split(SECTION_SEPARATOR) if h.strip()] if section else []
    if headings and title and headings[0].strip().casefold() == title.strip().casefold():
        headings = headings[1:]
    head = SUMMARY_SEPARATOR.join(p.strip() for p in (title, summary) if p.strip())
    parts = [p.strip() for p in (head, *headings) if p.strip()]
    return " ".join(SECTION_SEPARATOR.join(parts).split())


def embedded_text(context: str, text: str) -> str:
    """The text the model embeds for a chunk with this context."""
    return f"{context}{SEPARATOR}{text}" if context else text
