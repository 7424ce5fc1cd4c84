"""The answer when no chat model is configured (LLM_PROVIDER=none): the best passages,
each cited, and labelled as not generated."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.rag.sources import Source

NOTICE = (
    "No language model is configured (LLM_PROVIDER=none), so this answer is extractive: "
    "the most relevant passages, quoted as found."
)
NOTHING_FOUND = "No passage in the collection matches this question."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _lead(text: str, max_chars: int) -> str:
    """Whole sentences from the start of `text`, up to about `max_chars`."""
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > max_chars:
            break
        out += " " + sentence
    return out


def extractive_answer(sources: Sequence[Source], *, passages: int = 3, max_chars: int = 400) -> str:
    if not sources:
        return NOTHING_FOUND
    quoted = [f"{_lead(s.text, max_chars)} [{s.n}]" for s in sources[:passages]]
    return NOTICE + "\n\n" + "\n\n".join(quoted)
