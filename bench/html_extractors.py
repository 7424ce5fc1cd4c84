"""pgask's HTML reading (ingest.html_text) against trafilatura, a well-kept main-text
extractor, on whole real manuals (not run by CI). Writes bench/results/html-extractors.json.

Per manual and extractor: pages read, pages left empty, pages still holding a generator's
navigation text, code blocks and tables kept (against the `<pre>` and data `<table>`
elements of the page: DocBook's navigation tables excluded), spaces left before closing
punctuation outside code ("FULL )", "psql ."), and seconds.

Needs trafilatura beside pgask: `pip install trafilatura lxml_html_clean`. The manuals:
`apt-get install postgresql-doc-15 python3-doc` (Debian 12).

    python bench/html_extractors.py [--manuals DIR ...] [--output FILE]
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, package_versions, write_result
from bench.realdocs import NAVIGATION
from ingest.html_text import _columns, html_page

MANUALS = [
    Path("/usr/share/doc/postgresql-doc-15/html"),
    Path("/usr/share/doc/python3.11/html"),
]
STRAY_SPACE = re.compile(r"\w [.,;:)](?=\s|$)")
# Code is written as it is (PostgreSQL's signatures read "bit_length ( text )"): replaced
# by a character that is not a word, so only prose counts.
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.MULTILINE | re.DOTALL)
FENCE = re.compile(r"^```", re.MULTILINE)
TABLE_RULE = re.compile(r"^\|(?: ?:?-{3,}:? ?\|)+\s*$", re.MULTILINE)


def pgask_text(html: str) -> str:
    page = html_page(html)
    return "\n\n".join("\n\n".join(parts) for _, parts in page.sections)


def trafilatura_text(html: str) -> str:
    # an optional tool of this benchmark only, not a dependency of pgask
    trafilatura: Any = importlib.import_module("trafilatura")
    return str(
        trafilatura.extract(
            html,
            output_format="markdown",
            include_tables=True,
            include_formatting=True,
            include_links=False,
            favor_recall=True,
        )
        or ""
    )


def truth(html: str) -> tuple[int, int]:
    """`<pre>` elements and tables of more than one column (not DocBook's navigation
    tables; pgask reads a one-column table as the paragraphs of its cells)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for nav in soup.select("div.navheader, div.navfooter"):
        nav.decompose()
    tables = [t for t in soup.find_all("table") if t.find_parent("table") is None]
    return len(soup.find_all("pre")), sum(1 for t in tables if _columns(t) > 1)


def measure(folder: Path, extract: Callable[[str], str]) -> dict[str, Any]:
    counts = dict.fromkeys(
        ("pages", "empty", "with_navigation", "code_blocks", "tables", "stray_spaces"), 0
    )
    started = time.perf_counter()
    for path in sorted(folder.rglob("*.html")):
        text = extract(path.read_text(encoding="utf-8", errors="replace"))
        counts["pages"] += 1
        counts["empty"] += not text.strip()
        counts["with_navigation"] += bool(NAVIGATION.search(text))
        counts["code_blocks"] += len(FENCE.findall(text)) // 2
        counts["tables"] += len(TABLE_RULE.findall(text))
        counts["stray_spaces"] += len(STRAY_SPACE.findall(CODE.sub("\x01", text)))
    return {**counts, "seconds": round(time.perf_counter() - started, 1)}


def main(args: argparse.Namespace) -> None:
    results: dict[str, Any] = {}
    for folder in args.manuals:
        pre = tables = 0
        for path in sorted(folder.rglob("*.html")):
            p, t = truth(path.read_text(encoding="utf-8", errors="replace"))
            pre, tables = pre + p, tables + t
        results[str(folder)] = {
            "in_pages": {"pre": pre, "tables": tables},
            "pgask": measure(folder, pgask_text),
            "trafilatura": measure(folder, trafilatura_text),
        }
        print(folder, results[str(folder)], flush=True)
    write_result(
        "html-extractors",
        {
            "benchmark": "html_extractors",
            "command": "python bench/html_extractors.py " + " ".join(args.argv),
            "machine": machine(),
            "versions": package_versions(["pgask", "trafilatura", "beautifulsoup4"]),
            "parameters": {
                "trafilatura": "extract(output_format='markdown', include_tables=True, "
                "include_formatting=True, favor_recall=True)",
                "navigation": NAVIGATION.pattern,
                "stray_spaces": STRAY_SPACE.pattern,
            },
            "manuals": results,
        },
        args.output,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manuals", type=Path, nargs="+", default=MANUALS)
    parser.add_argument("--output", type=Path, default=None)
    parsed = parser.parse_args()
    parsed.argv = sys.argv[1:]
    main(parsed)
