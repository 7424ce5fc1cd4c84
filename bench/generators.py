"""What pgask's HTML reading keeps of pages written by rustdoc, mdBook, Javadoc and Doxygen
(not run by CI): per generator, over a fixed sample of real pages from Debian 12 packages,
the chunks cut, the chunks holding the generator's navigation text and those holding
nothing else, code blocks and Markdown tables kept, pages marked `links`, and titles still
carrying the site's name. Writes bench/results/generators.json, keeping the counts stored
under another label, so a run before a change (`--label before`) and one after it
(`--label after`) sit side by side.

The pages (`apt-get install rust-doc libcommons-lang3-java-doc lmdb-doc liblog4cplus-doc`):
rustdoc's std API and mdBook's books in /usr/share/doc/rust-doc/html (Rust 1.63), Apache
Commons Lang 3.12 Javadoc (JDK 17 layout), LMDB (Doxygen 1.8.16) and log4cplus (Doxygen
1.9.4).

Built documentation sites (docs/decisions/0050-built-doc-sites.md), every page of each,
read from --sites (default /tmp/built-sites); a site not built there is skipped:

- docusaurus: `npx create-docusaurus@latest site classic --javascript` (Docusaurus 3.9
  for decision 0050; 3.10.2, the same 28 pages, for its category pages), with this table
  appended to `site/docs/intro.mdx` (the template has none), then `npm run build` and
  `site/build` copied to SITES/docusaurus:

      ## Commands

      | Command | What it does |
      | --- | --- |
      | `npm run start` | Starts the development server. |
      | `npm run build` | Builds the site into `build`. |

- mkdocs-material: pgask's own docs, `mkdocs build -d SITES/mkdocs-material`.
- furo, sphinx-rtd-theme, pydata-sphinx-theme: attrs' docs (the `attrs` sdist from PyPI,
  26.1.0), in a venv with sphinx, myst-parser and the three themes, from its `docs/`:
  `sphinx-build -b html -D extensions=myst_parser,sphinx.ext.napoleon,sphinx.ext.autodoc,
  sphinx.ext.doctest,sphinx.ext.todo -D html_theme=THEME . SITES/THEME-DIR` (THEME furo,
  sphinx_rtd_theme, pydata_sphinx_theme; intersphinx and attrs' towncrier and notfound
  extensions left out, as they need the network or a git checkout).

Docusaurus needs npm and its registry, so on a machine without them it is skipped.

    python bench/generators.py --label before|after [--show] [--generators G...]
        [--sites DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from html import unescape
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.errors import InvalidInput
from bench.common import RESULTS, machine, package_versions, write_result
from ingest.chunker import chunk_blocks
from ingest.loaders import load_file

RUST = Path("/usr/share/doc/rust-doc/html")
JAVADOC = Path("/usr/share/doc/libcommons-lang3-java/api")
LMDB = Path("/usr/share/doc/lmdb-doc/html")
LOG4CPLUS = Path("/usr/share/doc/liblog4cplus-dev/html")

SAMPLES: dict[str, tuple[Path, list[str]]] = {
    "rustdoc": (
        RUST / "std",
        [
            "index.html",
            "all.html",
            "vec/index.html",
            "vec/struct.Vec.html",
            "collections/index.html",
            "collections/struct.HashMap.html",
            "io/index.html",
            "io/trait.Read.html",
            "io/trait.Write.html",
            "io/fn.copy.html",
            "io/enum.ErrorKind.html",
            "fs/fn.read_to_string.html",
            "fs/struct.File.html",
            "option/enum.Option.html",
            "result/index.html",
            "string/struct.String.html",
            "macro.println.html",
            "keyword.async.html",
            "primitive.str.html",
            "sync/index.html",
            "sync/struct.Mutex.html",
            "thread/fn.spawn.html",
            "fmt/index.html",
            "env/fn.args.html",
            "cmp/trait.Ord.html",
            "convert/trait.From.html",
            "path/struct.Path.html",
            "net/struct.TcpStream.html",
            "process/struct.Command.html",
            "time/struct.Duration.html",
            "../src/std/io/copy.rs.html",
        ],
    ),
    "mdbook": (
        RUST,
        [
            "book/index.html",
            "book/ch01-01-installation.html",
            "book/ch01-03-hello-cargo.html",
            "book/ch02-00-guessing-game-tutorial.html",
            "book/ch03-02-data-types.html",
            "book/ch03-03-how-functions-work.html",
            "book/ch04-01-what-is-ownership.html",
            "book/ch05-01-defining-structs.html",
            "book/ch06-02-match.html",
            "book/ch08-01-vectors.html",
            "book/ch09-02-recoverable-errors-with-result.html",
            "book/ch10-02-traits.html",
            "book/ch11-01-writing-tests.html",
            "book/ch13-01-closures.html",
            "book/ch15-01-box.html",
            "book/ch16-01-threads.html",
            "book/ch19-06-macros.html",
            "book/appendix-01-keywords.html",
            "book/appendix-02-operators.html",
            "nomicon/ownership.html",
            "nomicon/vec/vec.html",
            "reference/introduction.html",
            "reference/items/functions.html",
            "reference/expressions/match-expr.html",
            "rust-by-example/hello/print.html",
            "rust-by-example/error/option_unwrap.html",
            "edition-guide/editions/index.html",
            "rustc/command-line-arguments.html",
            "embedded-book/start/hardware.html",
            "unstable-book/index.html",
        ],
    ),
    "javadoc": (
        JAVADOC,
        [
            "index.html",
            "index-all.html",
            "allclasses-index.html",
            "allpackages-index.html",
            "overview-tree.html",
            "deprecated-list.html",
            "constant-values.html",
            "help-doc.html",
            "org/apache/commons/lang3/package-summary.html",
            "org/apache/commons/lang3/package-tree.html",
            "org/apache/commons/lang3/StringUtils.html",
            "org/apache/commons/lang3/ArrayUtils.html",
            "org/apache/commons/lang3/Validate.html",
            "org/apache/commons/lang3/Range.html",
            "org/apache/commons/lang3/JavaVersion.html",
            "org/apache/commons/lang3/Functions.FailableFunction.html",
            "org/apache/commons/lang3/NotImplementedException.html",
            "org/apache/commons/lang3/class-use/StringUtils.html",
            "org/apache/commons/lang3/builder/ToStringBuilder.html",
            "org/apache/commons/lang3/builder/package-summary.html",
            "org/apache/commons/lang3/tuple/Pair.html",
            "org/apache/commons/lang3/time/DateUtils.html",
            "org/apache/commons/lang3/time/StopWatch.html",
            "org/apache/commons/lang3/text/StrBuilder.html",
            "org/apache/commons/lang3/concurrent/ConcurrentUtils.html",
            "org/apache/commons/lang3/math/NumberUtils.html",
            "org/apache/commons/lang3/mutable/MutableInt.html",
            "org/apache/commons/lang3/reflect/FieldUtils.html",
            "org/apache/commons/lang3/exception/ExceptionUtils.html",
            "org/apache/commons/lang3/function/package-summary.html",
            "src-html/org/apache/commons/lang3/BitField.html",
        ],
    ),
    "doxygen": (
        Path("/usr/share/doc"),
        [
            "lmdb-doc/html/index.html",
            "lmdb-doc/html/annotated.html",
            "lmdb-doc/html/files.html",
            "lmdb-doc/html/globals.html",
            "lmdb-doc/html/group__mdb.html",
            "lmdb-doc/html/group__internal.html",
            "lmdb-doc/html/group__errors.html",
            "lmdb-doc/html/group__mdb__env.html",
            "lmdb-doc/html/midl_8h.html",
            "lmdb-doc/html/mdb_8c.html",
            "lmdb-doc/html/starting.html",
            "lmdb-doc/html/lmdb_8h_source.html",
            "lmdb-doc/html/modules.html",
            "liblog4cplus-dev/html/index.html",
            "liblog4cplus-dev/html/annotated.html",
            "liblog4cplus-dev/html/files.html",
            "liblog4cplus-dev/html/classes.html",
            "liblog4cplus-dev/html/functions.html",
            "liblog4cplus-dev/html/hierarchy.html",
            "liblog4cplus-dev/html/namespacelog4cplus.html",
            "liblog4cplus-dev/html/classlog4cplus_1_1Appender.html",
            "liblog4cplus-dev/html/classlog4cplus_1_1Appender-members.html",
            "liblog4cplus-dev/html/classlog4cplus_1_1FileAppender.html",
            "liblog4cplus-dev/html/classlog4cplus_1_1Logger.html",
            "liblog4cplus-dev/html/classlog4cplus_1_1PatternLayout.html",
            "liblog4cplus-dev/html/classlog4cplus_1_1helpers_1_1Properties.html",
            "liblog4cplus-dev/html/appender_8h.html",
            "liblog4cplus-dev/html/appender_8h_source.html",
            "liblog4cplus-dev/html/loggingmacros_8h.html",
            "liblog4cplus-dev/html/dir_15e0ad6291f54c01f72f2b7a09f5a39a.html",
        ],
    ),
}
SITES = Path("/tmp/built-sites")
# Built sites, every page of each (the search page and Sphinx's `_sources` aside)
BUILT = {
    "docusaurus": "docusaurus",
    "mkdocs-material": "mkdocs-material",
    "furo": "furo",
    "sphinx-rtd-theme": "sphinx_rtd_theme",
    "pydata-sphinx-theme": "pydata_sphinx_theme",
}
_SPHINX_THEMES = re.compile(
    r"Skip to content|Back to top|Made with Sphinx|Built with Sphinx|On this page"
    r"|View page source|Edit on GitHub|Show Source|^(?:Next|Previous)$|Copyright \u00a9"
    r"|Toggle navigation|Ctrl\+K|theme provided by|Search Ctrl",
    re.MULTILINE,
)
# Text only a generator's page furniture holds: its bars, buttons, tooltips and links to
# elsewhere (the "source" link, Doxygen's "More...", Javadoc's "Skip navigation links").
NAVIGATION: dict[str, re.Pattern[str]] = {
    "rustdoc": re.compile(
        r"^logo$|^Run$|^(?:[\w.: ]+ · )?source$|Expand description|Read more|Copy item path"
        r"|Click or press|Change settings|Notable traits for|\u24d8|\[[\u2212+]\]"
        r"|^(?:Settings|Help|Summary)$",
        re.MULTILINE,
    ),
    "mdbook": re.compile(
        r"Previous chapter|Next chapter|Keyboard shortcuts|Print this book"
        r"|Toggle Table of Contents|Search this book|Press \u2190 or \u2192",
    ),
    "javadoc": re.compile(
        r"Skip navigation links|Overview\s+Package|Use\s+Tree\s+Deprecated|Deprecated\s+Index"
        r"|SEARCH:|^Summary:|^Detail:|Frames\s+No Frames|JavaScript is disabled|Copyright \u00a9"
        r"|All Methods\s+Static Methods|All Classes and Interfaces",
        re.MULTILINE,
    ),
    "doxygen": re.compile(
        r"Generated by|More\.\.\.|Main Page|Related Pages|Go to the (?:documentation|source code)"
        r" of this file|Inheritance diagram for|Collaboration diagram for|dependency graph for"
        r"|\[legend\]|\u25c6|List of all members",
    ),
    "docusaurus": re.compile(
        r"Skip to main content|Edit this page|^(?:Next|Previous)$|On this page|Copyright \u00a9"
        r"|Built with Docusaurus|Last updated|Recent posts|Newer post|Older post|Read more"
        r"|^Tags:|View all authors|View All Tags",
        re.MULTILINE,
    ),
    "mkdocs-material": re.compile(
        r"Skip to content|Back to top|Made with\s+Material for MkDocs|^Table of contents$"
        r"|^(?:Next|Previous)$|Initializing search",
        re.MULTILINE,
    ),
    "furo": _SPHINX_THEMES,
    "sphinx-rtd-theme": _SPHINX_THEMES,
    "pydata-sphinx-theme": _SPHINX_THEMES,
}
# Where each generator's <title> carries the site's name: after " - " (rustdoc, mdBook),
# in parentheses (Javadoc), before ": " (Doxygen).
SITE: dict[str, re.Pattern[str]] = {
    "rustdoc": re.compile(r" - (?P<site>[^-]+)$"),
    "mdbook": re.compile(r" - (?P<site>[^-]+)$"),
    "javadoc": re.compile(r" \((?P<site>[^()]+)\)$"),
    "doxygen": re.compile(r"^(?P<site>[^:]+): (?!:)"),
    "docusaurus": re.compile(r" \| (?P<site>[^|]+)$"),
    "mkdocs-material": re.compile(r" - (?P<site>[^-]+)$"),
    "furo": re.compile(r" - (?P<site>[^-]+)$"),
    "sphinx-rtd-theme": re.compile(r" \u2014 (?P<site>[^\u2014]+)$"),
    "pydata-sphinx-theme": re.compile(r" \u2014 (?P<site>[^\u2014]+)$"),
}
RAW_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL | re.IGNORECASE)
FENCE = re.compile(r"^```", re.MULTILINE)
TABLE_RULE = re.compile(r"^\|(?: ?:?-{3,}:? ?\|)+\s*$", re.MULTILINE)
WORD = re.compile(r"\w{2,}")
CHUNK_SIZE, CHUNK_OVERLAP = 256, 32  # a collection's defaults


def navigation_only(generator: str, text: str) -> bool:
    """Fewer than three words left once the navigation text is taken out."""
    return len(WORD.findall(NAVIGATION[generator].sub(" ", text))) < 3


def keeps_site(generator: str, html: str, title: str) -> bool:
    raw = RAW_TITLE.search(html)
    site = SITE[generator].search(" ".join(unescape(raw[1]).split())) if raw else None
    return site is not None and site[0] in title


def sample(generator: str, sites: Path) -> tuple[Path, list[str]]:
    """The pages to read: a fixed list, or every page of a built site (none if not built)."""
    if generator in SAMPLES:
        return SAMPLES[generator]
    root = sites / BUILT[generator]
    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    return root, [p for p in pages if not p.startswith(("_sources/", "_static/"))]


def measure(generator: str, root: Path, names: list[str], show: bool) -> dict[str, Any]:
    counts = dict.fromkeys(
        [
            *("pages", "chunks", "navigation_only", "with_navigation", "code_blocks"),
            *("tables", "links_pages", "titles_with_site", "refused"),
        ],
        0,
    )
    for name in names:
        html = (root / name).read_bytes()
        counts["pages"] += 1
        try:
            doc = load_file(str(root / name), html)
        except InvalidInput as exc:
            counts["refused"] += 1
            print(f"{name}: {exc.detail}", file=sys.stderr)
            continue
        text = "\n\n".join(b.text for b in doc.blocks)
        counts["code_blocks"] += len(FENCE.findall(text)) // 2
        counts["tables"] += len(TABLE_RULE.findall(text))
        counts["links_pages"] += doc.metadata.get("doc_kind") == "links"
        counts["titles_with_site"] += keeps_site(
            generator, html.decode(errors="replace"), doc.title
        )
        for chunk in chunk_blocks(doc.blocks, CHUNK_SIZE, CHUNK_OVERLAP):
            counts["chunks"] += 1
            if NAVIGATION[generator].search(chunk.text):
                counts["with_navigation"] += 1
                counts["navigation_only"] += navigation_only(generator, chunk.text)
                if show:
                    print(f"--- {name} [{chunk.section}]\n{chunk.text[:300]}")
        if show:
            print(f"=== {name}: {doc.title!r} {doc.metadata.get('doc_kind', '')}")
    return counts


def main(args: argparse.Namespace) -> None:
    output = args.output or RESULTS / "generators.json"
    previous = json.loads(output.read_text()) if output.exists() else {}
    results: dict[str, Any] = previous.get("results", {})
    pages: dict[str, list[str]] = previous.get("pages", {})
    for generator in args.generators:
        root, names = sample(generator, args.sites)
        if not root.exists():
            print(f"{generator}: {root} not found, skipped", file=sys.stderr)
            continue
        pages[generator] = [str(root / n) for n in names]
        counts = measure(generator, root, names, args.show)
        results.setdefault(generator, {})[args.label] = counts
        print(generator, args.label, counts, flush=True)
    write_result(
        "generators",
        {
            "benchmark": "generators",
            "command": "python bench/generators.py " + " ".join(args.argv),
            "machine": machine(),
            "versions": package_versions(["pgask", "beautifulsoup4"]),
            "parameters": {
                "chunking": [CHUNK_SIZE, CHUNK_OVERLAP],
                "navigation": {g: p.pattern for g, p in NAVIGATION.items()},
                "navigation_only": "fewer than 3 words left without the navigation text",
            },
            "pages": pages,
            "results": results,
        },
        output,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="before or after a change")
    generators = [*SAMPLES, *BUILT]
    parser.add_argument("--generators", nargs="+", default=generators, choices=generators)
    parser.add_argument("--sites", type=Path, default=SITES, help="where the sites are built")
    parser.add_argument("--show", action="store_true", help="print the chunks with navigation")
    parser.add_argument("--output", type=Path, default=None)
    parsed = parser.parse_args()
    parsed.argv = sys.argv[1:]
    main(parsed)
