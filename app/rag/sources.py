"""A retrieved passage as the answer pipeline sees it: numbered from 1 in rank order."""

from __future__ import annotations

from dataclasses import dataclass

from app.search.passage import Passage


@dataclass(frozen=True, kw_only=True)
class Numbered:
    n: int  # the number the prompt gives the passage and the answer cites: [n]


# Bases in this order put `n` first: dataclass fields follow the reverse MRO (Numbered,
# Passage, own fields), which keeps the JSON of sources and citations as clients know it.
@dataclass(frozen=True, kw_only=True)
class AnswerSource(Passage, Numbered):
    text: str
    score: float
    # The document's one-line purpose (its metadata `summary`: a man page's NAME line, a
    # DocBook refpurpose), "" when it has none; what a reference page is for, where its
    # title is only a name ("git-rerere(1)").
    summary: str = ""


PLACE_SEPARATOR = " \u203a "  # a single right-pointing angle quote between title and headings


def place(passage: Passage) -> str:
    """The title, then the heading path, joined by PLACE_SEPARATOR: what tells two passages
    of one document apart. The title is not repeated when the heading path starts with it
    (a page's H1 is both)."""
    title = passage.title or passage.source
    headings = [h.strip() for h in passage.section.split(" > ") if h.strip()]
    if headings and headings[0].casefold() == title.strip().casefold():
        headings = headings[1:]
    return PLACE_SEPARATOR.join([title, *headings]) if title else PLACE_SEPARATOR.join(headings)
