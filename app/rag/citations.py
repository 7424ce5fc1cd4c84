"""Citations: `[n]` markers in an answer, mapped back to the sources they name."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from app.rag.sources import AnswerSource, Numbered
from app.search.passage import Passage

log = logging.getLogger(__name__)

# [1], [2, 3], [1][4] and [1-3] (a range) all cite.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,-]\s*\d{1,3})*)\]")
# Code quoted in an answer (`sys.argv[1]`, a fenced block) holds brackets that cite nothing.
_CODE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?(?:^[ \t]*\1|\Z)|`[^`\n]*`", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class Citation(Passage, Numbered):  # `n` first, as in `AnswerSource`
    quote: str  # the cited source's text


def cited_numbers(answer: str) -> list[int]:
    """Every number cited outside code, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(_CODE.sub(" ", answer)):
        for part in match.group(1).split(","):
            first, _, last = part.partition("-")
            lo, hi = int(first), int(last or first)
            for n in range(lo, min(hi, lo + 50) + 1):
                if n not in seen:
                    seen.append(n)
    return seen


def parse_citations(answer: str, sources: Sequence[AnswerSource]) -> list[Citation]:
    """Citations for the markers that point at a source; others are dropped and logged."""
    by_number = {s.n: s for s in sources}
    citations = []
    for n in cited_numbers(answer):
        source = by_number.get(n)
        if source is None:
            log.warning("answer cites [%d], which is not one of the %d sources", n, len(sources))
            continue
        citations.append(Citation(n=n, quote=source.text, **source.passage_fields()))
    return citations


# What a model writes as a citation, invented numbers included: [0], [-1], [1, 99], [2-4].
_ANY_MARKER = re.compile(r"\[\s*-?\d{1,6}(?:\s*[,-]\s*-?\d{1,6})*\s*\]")
# A marker not yet closed at the end of what has streamed so far.
_OPEN_MARKER = re.compile(r"\[[\s\d,-]{0,40}\Z")
_PART = re.compile(r"(-?\d+)(?:\s*-\s*(-?\d+))?")
_SPECIAL = re.compile(r"[\[`]")
_WORD = re.compile(r"\w")


def _kept(marker: str, numbers: Collection[int]) -> str:
    """The marker with the numbers that name no source taken out: unchanged when all do,
    "" when none does."""
    parts, changed = [], False
    for part in (p.strip() for p in marker[1:-1].split(",")):
        found = _PART.fullmatch(part)
        lo, hi = (int(found.group(1)), int(found.group(2) or found.group(1))) if found else (0, -1)
        cited = range(lo, min(hi, lo + 50) + 1)
        if cited and all(n in numbers for n in cited):
            parts.append(part)
        else:
            changed = True
            parts.extend(str(n) for n in cited if n in numbers)
    if not changed:
        return marker
    return f"[{', '.join(parts)}]" if parts else ""


class CitationFilter:
    """An answer's text with the citation markers that name no source removed ([99] of 8
    sources, [0], [-1]; [1, 99] keeps [1]), and the space before a removed marker with it.
    Markers inside code (`...` and fenced blocks), or right after a letter or digit
    (`items[0]`), are code, left as they are.

    Removed rather than marked: a reader (or a chat client showing the raw text) would take
    any bracketed number for a source, and `citations` lists only real ones.

    It works on a stream: `feed` each piece as it arrives and send what it returns, then
    send `finish()`. It holds back only what may still become a marker (an open `[`, the
    spaces before it, a run of backticks), so "[9" then "9]" is removed whole; the pieces
    it returns add up to what `clean` returns for the whole text."""

    def __init__(self, numbers: Collection[int]) -> None:
        self._numbers = frozenset(numbers)
        self._pending = ""
        self._fence = 0  # the backtick run that opened the code the text is in; 0: none
        self._last = ""  # the character before `_pending`

    def feed(self, piece: str) -> str:
        self._pending += piece
        return self._drain(final=False)

    def finish(self) -> str:
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> str:
        text, at, wait = self._pending, 0, False
        out: list[str] = []
        while at < len(text) and not wait:
            step = self._code if self._fence else self._prose
            at, wait = step(text, at, out, final)
        self._pending = text[at:]
        self._last = text[at - 1] if at else self._last
        return "".join(out)

    def _prose(self, text: str, at: int, out: list[str], final: bool) -> tuple[int, bool]:
        """Copy prose up to the next `[` or backtick and handle it. Returns where to go on
        and whether to wait for more text (what is from there on may still change)."""
        found = _SPECIAL.search(text, at)
        end = found.start() if found else len(text)
        held = at + len(text[at:end].rstrip(" \t"))  # spaces before a removed marker go too
        out.append(text[at:held])
        if found is None:
            if final:
                out.append(text[held:])
                return len(text), False
            return held, True
        if text[end] == "`":
            run = _backticks(text, end)
            if end + run == len(text) and not final:
                return held, True  # the run may grow: ` or ```
            self._fence = run
            out.append(text[held : end + run])
            return end + run, False
        before = text[end - 1] if end > 0 else self._last
        marker = None if _WORD.match(before) else _ANY_MARKER.match(text, end)  # x[0]: code
        if marker is not None:
            kept = _kept(marker.group(), self._numbers)
            if kept != marker.group():
                log.warning("answer cites %s, which names no source: taken out", marker.group())
            if kept:
                out.append(text[held:end] + kept)
            return marker.end(), False
        if not final and _OPEN_MARKER.match(text, end):
            return held, True
        out.append(text[held : end + 1])
        return end + 1, False

    def _code(self, text: str, at: int, out: list[str], final: bool) -> tuple[int, bool]:
        """Copy code through the backtick run that closes it (one as long as the opening)."""
        search = at
        while (start := text.find("`", search)) >= 0:
            run = _backticks(text, start)
            if start + run == len(text) and not final:
                out.append(text[at:start])
                return start, True
            if run == self._fence:
                self._fence = 0
                out.append(text[at : start + run])
                return start + run, False
            search = start + run
        out.append(text[at:])
        return len(text), False


def _backticks(text: str, at: int) -> int:
    """The length of the run of backticks at `at`."""
    return len(text[at:]) - len(text[at:].lstrip("`"))


def clean_answer(answer: str, sources: Sequence[AnswerSource]) -> str:
    """`answer` without the markers that cite no source (`CitationFilter`)."""
    cleaner = CitationFilter({s.n for s in sources})
    return cleaner.feed(answer) + cleaner.finish()
