"""The answer when no chat model is configured (LLM_PROVIDER=none): whole sentences from the
best passages, read as prose, each passage's sentences cited `[n]`, labelled as not
generated.

Passages are cleaned for reading: code blocks and table rows are left to the passage view
(a sentence cannot quote them), list markers go, lines are joined, and a sentence already
quoted from an overlapping chunk is not repeated. A passage that is only code is quoted as
it is, so the answer still shows it (the web page renders the fence as code).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.rag.sources import Source

NOTICE = (
    "No language model is configured (LLM_PROVIDER=none), so this answer is extractive: "
    "sentences from the most relevant passages, quoted as found."
)
NOTHING_FOUND = "No passage in the collection matches this question."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_FENCE = re.compile(r"^[ \t]*```.*?(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+", re.MULTILINE)


def sentences(text: str) -> list[str]:
    """The prose sentences of a passage, in order, each on one line."""
    out: list[str] = []
    for paragraph in _PARAGRAPH.split(_FENCE.sub("\n\n", text)):
        if " | " in paragraph:  # a table row: cells, not a sentence
            continue
        joined = " ".join(_LIST_MARKER.sub("", paragraph).split())
        out.extend(s for s in _SENTENCE_END.split(joined) if s)
    return out


def _quote(source: Source, seen: set[str], max_chars: int) -> str:
    """Sentences of one passage up to about `max_chars`, skipping ones already quoted."""
    chosen: list[str] = []
    size = 0
    for sentence in sentences(source.text):
        if sentence.lower() in seen:
            continue
        if chosen and size + 1 + len(sentence) > max_chars:
            break
        chosen.append(sentence)
        seen.add(sentence.lower())
        size += 1 + len(sentence)
    return f"{' '.join(chosen)} [{source.n}]" if chosen else ""


def extractive_answer(sources: Sequence[Source], *, passages: int = 3, max_chars: int = 400) -> str:
    if not sources:
        return NOTHING_FOUND
    seen: set[str] = set()
    quoted: list[str] = []
    for source in sources:
        if (paragraph := _quote(source, seen, max_chars)) and len(quoted) < passages:
            quoted.append(paragraph)
    if not quoted:  # only code or tables: show the best passage as it is
        quoted.append(f"{sources[0].text.strip()}\n\n[{sources[0].n}]")
    return NOTICE + "\n\n" + "\n\n".join(quoted)
