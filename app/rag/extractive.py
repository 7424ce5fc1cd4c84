"""The answer when no chat model is configured (LLM_PROVIDER=none): the relevant part of the
best passages, quoted as found with their code blocks and tables whole, each cited `[n]`,
labelled as not generated.

A passage is read as units: sentences of prose, list items, and whole code blocks and tables
(never cut: on technical documents the command is the answer). The unit that shares most
words with the question is kept with what follows it (a sentence ending in ":" introduces
its command), then what precedes it, up to `max_chars`; a passage quoted in part shows "…"
where text was left out. A unit already quoted from an overlapping chunk is not repeated,
nor the tail of a code block that an earlier quote holds (`Quoted`). The passages quoted are
those whose best unit matches best, a lower rank discounting the match (`RANK_DISCOUNT`):
three, and up to two more that still match well (`PASSAGES`, `MIN_SHARE`). A how-to question
whose quotes hold no code gets the best code block among the other passages too.

Each quote is headed by its place (`sources.place`: the title, then the heading path) in
bold, as a search result shows its page: a passage read out of its page ("- prog - usage
information …") says what it is about only through its headings (argparse's page, then
Other utilities, then Sub-commands). The first quote of a document with a
summary (its one-line purpose, docs/decisions/0051-page-summary-in-context.md) names it
after the title, "git-rerere(1) — Reuse recorded resolution of conflicted merges": what a
reference page is for. A quote from the place of the quote before it gets no heading.
See docs/decisions/0052-answers-name-their-places.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.rag.sources import PLACE_SEPARATOR, AnswerSource, place
from app.validation import SUMMARY_SEPARATOR

NOTICE = (
    "No language model is configured (LLM_PROVIDER=none), so this answer is extractive: "
    "the most relevant passages, quoted as found."
)
NOTHING_FOUND = "No passage in the collection matches this question."
ELLIPSIS = "\u2026"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[])")
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"[a-z0-9_][a-z0-9_.\-]*[a-z0-9_]|[a-z0-9_]", re.IGNORECASE)
# Where a name splits into the words it is made of: "max_length", "gzip.open",
# "sub-commands", "BaseSettings", "HTTPBasicAuthHandler".
_NAME_PART = re.compile(r"[._\-]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_HOW_TO = re.compile(
    r"^\s*(?:how\b|what (?:is the )?command\b|which command\b|show me\b|example\b)"
    r"|\bhow (?:do|can|to|should)\b|\bcommand\b|\bsyntax\b",
    re.IGNORECASE,
)
# A question that asks for an explanation rather than a task: a task phrased as an order
# ("compress a file with gzip", "load a CSV file into a table") wants its command too.
_EXPLAIN = re.compile(
    r"^\s*(?:what|why|when|where|which|who|whose|is|are|was|were|does|did|do|can|could|"
    r"should|explain|describe|define|difference|meaning)\b",
    re.IGNORECASE,
)
# A definition's term standing alone: DocBook and Sphinx definition lists put an option's or
# setting's name on its own line ("`work_mem` (`integer`)", "`FULL`", "`-B nbuffers`"),
# the description after it; an option's short and long forms are two spans ("`-F` `--format`").
_LABEL = re.compile(r"^`[^`\n]+`(?:,? `[^`\n]+`)*(?:\s*\(`?[^()`\n]{1,40}`?\))?:?$")
# How much a passage's rank discounts its best unit's score when the passages to quote are
# chosen (`_relevance`): at 0.5 the second passage must match 1.5x as well as the first to
# be quoted before it. 0.2-1.0 carried the same terms within 1 of 82 questions on the real
# manuals (docs/decisions/0041-answers-read-more-of-the-best-page.md).
RANK_DISCOUNT = 0.5
# How many passages an answer quotes, and how long each quote runs: up to `PASSAGES`, the
# first `ALWAYS` of them whatever they match, the rest only while their relevance is at
# least `MIN_SHARE` of the best passage's (a weaker one adds length, not answer). On the
# four real manuals' 107 questions (docs/quality.md), 5 quotes of 500 characters carried
# the question's term in 91 answers, against 86 for 3 of 700, for 23% more characters.
PASSAGES = 5
ALWAYS = 3
MIN_SHARE = 0.2
MAX_CHARS = 500
# Words that say nothing about what a passage is about.
_STOP = frozenset(
    " ".join(
        [
            "a an and are as at be by can do does for from how i if in into is it its me my",
            "of on or should so that the their them then there these this to use using was",
            "what when where which who why will with you your want need get make way",
        ]
    ).split()
)


@dataclass(frozen=True)
class Unit:
    """A sentence, list item, code block or table of a passage; `paragraph` groups units
    that are joined by a space (sentences of one paragraph)."""

    text: str
    paragraph: int
    kind: str  # "prose", "code" or "table"

    @property
    def label(self) -> bool:
        """The term of a definition list entry, its description following."""
        return self.kind == "prose" and _LABEL.match(self.text) is not None


def _blocks(text: str) -> list[tuple[str, str]]:
    """The passage's paragraphs in order, code blocks whole (blank lines and all)."""
    out: list[tuple[str, str]] = []
    prose: list[str] = []
    code: list[str] | None = None
    fence = ""

    def end_prose() -> None:
        joined = "\n".join(prose).strip()
        for paragraph in _PARAGRAPH.split(joined) if joined else []:
            if paragraph.strip():
                table = all(line.lstrip().startswith("|") for line in paragraph.splitlines())
                out.append(("table" if table else "prose", paragraph.strip()))
        prose.clear()

    for line in text.split("\n"):
        if code is not None:
            code.append(line)
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                out.append(("code", "\n".join(code)))
                code = None
        elif match := _FENCE_OPEN.match(line):
            end_prose()
            code, fence = [line], match[1]
        else:
            prose.append(line)
    if code is not None:  # a block the chunk cut off: closed so it still renders as code
        out.append(("code", "\n".join([*code, fence])))
    end_prose()
    return out


def units(text: str) -> list[Unit]:
    """The passage as units, in order."""
    out: list[Unit] = []
    for number, (kind, block) in enumerate(_blocks(text)):
        if kind != "prose":
            out.append(Unit(block, number, kind))
        elif block.lstrip().startswith(("- ", "* ", "1. ")) or "\n- " in block:
            out.append(Unit(block, number, "prose"))  # a list: its items stay together
        else:
            joined = " ".join(block.split())
            out.extend(Unit(s, number, "prose") for s in _SENTENCE_END.split(joined) if s)
    return out


def _terms(text: str, *, parts: bool = True) -> set[str]:
    """The words of `text`, lower-cased, without stop words, and a hyphenated word's closed
    form ("sub-commands": subcommands). With `parts`, a name also gives the words it is
    made of: a question says "pydantic settings" or "maximum length" where the manual
    writes `BaseSettings` or `max_length`. A question's own names stay whole: "what does
    shared_buffers control" asks about `shared_buffers`, not about `BUFFERS`."""
    out: set[str] = set()
    for token in _WORD.findall(text):
        split = [p.lower() for p in _NAME_PART.split(token) if p]
        out.add(token.lower())
        if len(split) > 1 and parts:
            out.update(split)
        if len(split) > 1 and "-" in token:
            out.add("".join(split))
    return out - _STOP


Weights = dict[str, float]


def _matched(unit: Unit, terms: Weights) -> list[str]:
    """The question words in the unit; a word also counts by its first five letters (stems:
    "compress" and "compressed")."""
    words = _terms(unit.text)
    stems = {w[:5] for w in words if len(w) >= 5}
    return [t for t in terms if t in words or (len(t) >= 5 and t[:5] in stems)]


def _named(unit: Unit, terms: Weights) -> list[str]:
    """The question words that are a whole name of this definition's term (none when the
    unit is not one): `work_mem` for "what does the work_mem setting do"."""
    if not unit.label:
        return []
    names = {token.lower() for token in _WORD.findall(unit.text)}
    return [t for t in terms if t in names]


def _score(unit: Unit, terms: Weights) -> float:
    """The weights of the question words in the unit; a definition's term that is a name the
    question uses counts it twice (its description follows), a part of a name only once
    ("log" does not make `log_error_verbosity` the answer to "log slow queries")."""
    found = sum(terms[t] for t in _matched(unit, terms))
    return found + sum(terms[t] for t in _named(unit, terms))


def _scores(found: Sequence[Unit], terms: Weights) -> list[float]:
    """Each unit's score; a definition's term that ends the passage scores nothing: the
    chunk cut off its description."""
    scores = [_score(u, terms) for u in found]
    if found and found[-1].label:
        scores[-1] = 0.0
    return scores


def weights(question: str, sources: Sequence[AnswerSource]) -> Weights:
    """Each question word, weighted by how few of the sources' units hold it (BM25's inverse
    document frequency over units): "work_mem" or "gzip" says more about which sentence
    answers than "table" or "file", which most units of a manual's page share."""
    terms = _terms(question, parts=False)
    found = [u for source in sources for u in units(source.text)]
    held = dict.fromkeys(terms, 0)
    for unit in found:
        for term in _matched(unit, dict.fromkeys(terms, 1.0)):
            held[term] += 1
    return {t: math.log(1 + (len(found) - held[t] + 0.5) / (held[t] + 0.5)) for t in terms}


def _window(found: list[Unit], best: int, max_chars: int) -> tuple[int, int]:
    """The units around `best` to quote: forward first, then back, up to `max_chars`; the
    code block or table right after an introducing sentence always comes along. A quote
    starts no earlier than its definition's term; a definition the question names ends
    before the next term, while a description the question matches runs on into the
    entries after it (the list of methods of which it is one); a quote never ends on a
    term whose description it leaves out."""
    first = last = best
    size = len(found[best].text)
    named = found[best].label  # the question names this definition: quote it alone
    while last + 1 < len(found):
        following = found[last + 1]
        introduced = found[last].text.rstrip().endswith(":") and following.kind != "prose"
        if (size + len(following.text) > max_chars and not introduced) or (
            named and following.label
        ):
            break  # the next definition's term starts another entry
        last += 1
        size += len(following.text)
    while last > best and found[last].label:
        last -= 1  # a term without its description says nothing
    while not found[first].label and first > 0:
        if size + len(found[first - 1].text) > max_chars:
            break
        first -= 1
        size += len(found[first].text)
    if found[best].kind != "prose" and first == best and best > 0:
        first -= 1  # a code block keeps the sentence that introduces it
    return first, last


# A unit at least this long (normalised) that an earlier quote holds is not quoted again:
# consecutive chunks overlap, and a code block cut across them comes back as its tail
# ("pg_relation_filepath | relpages ..." after the query that printed it).
_CONTAINED_MIN = 40
_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}|~{3,}).*$", re.MULTILINE)


class Quoted:
    """What an answer has quoted so far, as units compare: case, spacing and code fences
    aside. A unit is already quoted when one quoted unit is the same, or (from
    `_CONTAINED_MIN` characters) holds it: the tail of a code block an overlapping chunk
    repeats."""

    def __init__(self) -> None:
        self.same: set[str] = set()
        self.texts: list[str] = []

    def __contains__(self, unit: Unit) -> bool:
        text = _normal(unit)
        if text in self.same:
            return True
        return len(text) >= _CONTAINED_MIN and any(text in quoted for quoted in self.texts)

    def add(self, found: Sequence[Unit]) -> None:
        for unit in found:
            self.same.add(text := _normal(unit))
            self.texts.append(text)


def _normal(unit: Unit) -> str:
    text = _FENCE_LINE.sub("", unit.text) if unit.kind == "code" else unit.text
    return " ".join(text.casefold().split())


def _join(found: list[Unit]) -> str:
    parts: list[str] = []
    for i, unit in enumerate(found):
        if i and unit.paragraph == found[i - 1].paragraph:
            parts.append(" " + unit.text)
        else:
            parts.append(("\n\n" if i else "") + unit.text)
    return "".join(parts)


def quote(source: AnswerSource, terms: Weights, seen: Quoted, max_chars: int) -> str:
    """The relevant part of one passage with "…" where text was left out, cited; "" when
    every unit of it was already quoted."""
    found = [u for u in units(source.text) if u not in seen]
    if not found:
        return ""
    scores = _scores(found, terms)
    best = max(range(len(found)), key=lambda i: (scores[i], -i))
    first, last = _window(found, best, max_chars)
    chosen = found[first : last + 1]
    seen.add(chosen)
    body = _join(chosen)
    if first > 0:
        body = f"{ELLIPSIS} {body}"
    if last < len(found) - 1:
        body = f"{body}\n\n{ELLIPSIS}" if chosen[-1].kind != "prose" else f"{body} {ELLIPSIS}"
    return f"{body} [{source.n}]" if chosen[-1].kind == "prose" else f"{body}\n\n[{source.n}]"


def _best_code(
    sources: Sequence[AnswerSource], terms: Weights, seen: Quoted
) -> tuple[AnswerSource, str] | None:
    """The code block among `sources` sharing most words with the question, with the
    sentence before it, cited, and the source it is from; None when they hold none."""
    candidates = []
    for rank, source in enumerate(sources):
        found = units(source.text)
        for i, unit in enumerate(found):
            if unit.kind == "code" and unit not in seen:
                candidates.append((_score(unit, terms), -rank, source, found, i))
    if not candidates:
        return None
    _, _, source, found, i = max(candidates, key=lambda c: (c[0], c[1]))
    start = i - 1 if i > 0 and found[i - 1].kind == "prose" else i
    body = _join(found[start : i + 1])
    return source, f"{ELLIPSIS} {body}\n\n[{source.n}]" if start > 0 else f"{body}\n\n[{source.n}]"


class _Headings:
    """The heading of each quote: its place, with the document's summary after the title the
    first time the document is quoted; none when the quote before was from the same place
    of the same document."""

    def __init__(self) -> None:
        self.documents: set[int] = set()
        self.last: tuple[int, str] | None = None

    def __call__(self, source: AnswerSource) -> str:
        where = " ".join(place(source).split())
        first = source.document_id not in self.documents
        self.documents.add(source.document_id)
        if (source.document_id, where) == self.last or not where:
            return ""
        self.last = (source.document_id, where)
        if first and source.summary:
            title, _, headings = where.partition(PLACE_SEPARATOR)
            named = f"{title}{SUMMARY_SEPARATOR}{' '.join(source.summary.split())}"
            where = PLACE_SEPARATOR.join(p for p in (named, headings) if p)
        # bold, unless the place holds an asterisk, which would end the bold early
        return f"{where}\n\n" if "*" in where else f"**{where}**\n\n"


def _relevance(source: AnswerSource, rank: int, terms: Weights) -> float:
    """How well the passage's best unit matches the question, discounted by the passage's
    rank: a passage ranked lower must match better to be quoted first. A passage holding
    the entry of a definition list that the question names (an option, a setting, a
    function, with its description) is not discounted: the question asked for it."""
    found = units(source.text)
    scores = _scores(found, terms)
    best = max(scores, default=0.0)
    if any(score and _named(unit, terms) for unit, score in zip(found, scores, strict=True)):
        return best
    return best / (1 + RANK_DISCOUNT * rank)


def extractive_answer(
    sources: Sequence[AnswerSource],
    question: str = "",
    *,
    passages: int = PASSAGES,
    max_chars: int = MAX_CHARS,
) -> str:
    if not sources:
        return NOTHING_FOUND
    terms = weights(question, sources)
    seen = Quoted()
    quoted: list[tuple[AnswerSource, str]] = []
    relevance = [_relevance(source, rank, terms) for rank, source in enumerate(sources)]
    ranked = sorted(range(len(sources)), key=lambda i: (-relevance[i], i))
    enough = MIN_SHARE * relevance[ranked[0]]
    for i in ranked:
        if len(quoted) == passages or (len(quoted) >= ALWAYS and relevance[i] < enough):
            break
        if passage := quote(sources[i], terms, seen, max_chars):
            quoted.append((sources[i], passage))
    wants_code = wants_command(question) and not any("```" in q for _, q in quoted)
    if wants_code and (code := _best_code(sources, terms, seen)):
        quoted.append(code)
    heading = _Headings()
    return NOTICE + "\n\n" + "\n\n".join(heading(source) + text for source, text in quoted)


def wants_command(question: str) -> bool:
    """A how-to question, or a task phrased as an order: its answer should show code."""
    if _HOW_TO.search(question):
        return True
    return bool(question.strip()) and _EXPLAIN.match(question) is None
