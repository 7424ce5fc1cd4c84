"""pgask's format readers (ingest/formats) against the libraries people use instead, on real
files (not run by CI). Writes bench/results/formats-<name>.json.

The corpus (`--make`): every 25th page of the PostgreSQL 15 manual (46 pages), converted
by pandoc (DOCX, ODT, EPUB, and PPTX one slide per section) and by LibreOffice (DOCX, ODT);
the reStructuredText of awscli's topics and of CPython's `email` package; the time-zone
tables of tzdata (TSV, and as CSV and, through LibreOffice, XLSX); CPython's test e-mails.
Per format, producer and reader: headings (Markdown heading lines, or pgask's sections),
code blocks, Markdown tables, slides and speaker notes (PPTX), the share of the page's
words found (against pgask's reading of the source HTML page, where there is one), seconds
and the peak memory growth of the process reading them (each reader runs in a fresh
process). Then a 100,001-row XLSX against pgask's row budget, and a 99,999-row one read
whole, both against markitdown.

Needs: `apt-get install postgresql-doc-15 pandoc libreoffice-writer-nogui
libreoffice-calc-nogui` and `pip install -e '.[dev,bench]'`.

    python bench/formats.py --make [--corpus DIR] [--name NAME]
    python bench/formats.py --hostile --name hostile
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, package_versions, write_result

MANUAL = Path("/usr/share/doc/postgresql-doc-15/html")
PYTHON = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
RST_SOURCES = [
    *sorted(Path(sys.base_prefix).glob("lib/python3*/site-packages/awscli/topics/*.rst")),
    PYTHON / "email" / "architecture.rst",
]
EMAILS = PYTHON / "test" / "test_email" / "data"
ZONES = Path("/usr/share/zoneinfo")
HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)
FENCE = re.compile(r"^```", re.MULTILINE)
TABLE_RULE = re.compile(r"^\|(?: ?:?-{3,}:? ?\|)+\s*$", re.MULTILINE)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def make(corpus: Path) -> None:
    html = corpus / "html"
    html.mkdir(parents=True, exist_ok=True)
    for page in sorted(MANUAL.glob("*.html"))[24::25]:
        shutil.copy(page, html / page.name)
    pandoc, office = corpus / "pandoc", corpus / "libreoffice"
    pandoc.mkdir(exist_ok=True)
    for page in sorted(html.glob("*.html")):
        for ext in ("docx", "odt", "epub"):
            _run(
                [
                    "pandoc",
                    "-f",
                    "html",
                    "-t",
                    ext,
                    "-o",
                    str(pandoc / f"{page.stem}.{ext}"),
                    str(page),
                ]
            )
        markdown = pandoc / f"{page.stem}.md"
        _run(["pandoc", "-f", "html", "-t", "gfm", "-o", str(markdown), str(page)])
        _run(
            [
                "pandoc",
                "-f",
                "gfm",
                "-t",
                "pptx",
                "--slide-level=2",
                "-o",
                str(markdown.with_suffix(".pptx")),
                str(markdown),
            ]
        )
        markdown.unlink()
    pages = [str(p) for p in sorted(html.glob("*.html"))]
    for target in ("docx:MS Word 2007 XML", "odt"):
        _run(
            [
                "soffice",
                "--headless",
                "--infilter=HTML (StarWriter)",
                "--convert-to",
                target,
                "--outdir",
                str(office),
                *pages,
            ]
        )
    for folder in ("rst", "eml", "tables"):
        (corpus / folder).mkdir(exist_ok=True)
    for source in RST_SOURCES:
        shutil.copy(source, corpus / "rst" / f"{source.parent.name}-{source.name}")
    for message in sorted(EMAILS.glob("msg_*.txt")):
        shutil.copy(message, corpus / "eml" / f"{message.stem}.eml")
    for table in sorted(ZONES.glob("*.tab")):
        rows = [
            line.split("\t") for line in table.read_text().splitlines() if not line.startswith("#")
        ]
        (corpus / "tables" / f"{table.stem}.tsv").write_text(table.read_text())
        with (corpus / "tables" / f"{table.stem}.csv").open("w", newline="") as out:
            csv.writer(out).writerows(rows)
    sheets = [str(p) for p in sorted((corpus / "tables").glob("*.csv"))]
    _run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(corpus / "tables"),
            *sheets,
        ]
    )


# ---- readers, each giving Markdown-like text ---------------------------------------------


def pgask(path: Path) -> str:
    """pgask's reading as Markdown: a heading line where the section path changes."""
    from ingest.loaders import load_file

    document = load_file(path.name, path.read_bytes())
    out, last = [], None
    for block in document.blocks:
        if block.section != last and block.section:
            depth = block.section.count(" > ") + 1
            out.append("#" * min(depth, 6) + " " + block.section.rsplit(" > ", 1)[-1])
        last = block.section
        out.append(block.text)
    return "\n\n".join(out)


def pgask_as_text(path: Path) -> str:
    """pgask before ingest/formats read `.rst` as plain text: one block, no sections."""
    return path.read_text(encoding="utf-8")


def markitdown(path: Path) -> str:
    from markitdown import MarkItDown

    return str(MarkItDown().convert(str(path)).text_content)


def odfpy(path: Path) -> str:
    from odf import teletype
    from odf.opendocument import load

    return str(teletype.extractText(load(str(path)).text))


def ebooklib_text(path: Path) -> str:
    import ebooklib
    from bs4 import BeautifulSoup
    from ebooklib import epub

    book = epub.read_epub(str(path), {"ignore_ncx": True})
    pages = book.get_items_of_type(ebooklib.ITEM_DOCUMENT)
    return "\n\n".join(BeautifulSoup(p.get_content(), "html.parser").get_text("\n") for p in pages)


def email_plain(path: Path) -> str:
    import email
    import email.policy

    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    return str(body.get_content()) if body is not None else ""


READERS: dict[str, Callable[[Path], str]] = {
    "pgask": pgask,
    "pgask-as-text": pgask_as_text,
    "markitdown": markitdown,
    "odfpy": odfpy,
    "ebooklib": ebooklib_text,
    "email-plain": email_plain,
}
# (format, producer folder, glob, readers)
SETS = [
    ("docx", "pandoc", "*.docx", ["pgask", "markitdown"]),
    ("docx", "libreoffice", "*.docx", ["pgask", "markitdown"]),
    ("odt", "pandoc", "*.odt", ["pgask", "odfpy"]),
    ("odt", "libreoffice", "*.odt", ["pgask", "odfpy"]),
    ("epub", "pandoc", "*.epub", ["pgask", "ebooklib", "markitdown"]),
    ("pptx", "pandoc", "*.pptx", ["pgask", "markitdown"]),
    ("rst", "rst", "*.rst", ["pgask", "pgask-as-text"]),
    ("csv", "tables", "*.csv", ["pgask", "markitdown"]),
    ("tsv", "tables", "*.tsv", ["pgask"]),
    ("xlsx", "tables", "*.xlsx", ["pgask", "markitdown"]),
    ("eml", "eml", "*.eml", ["pgask", "email-plain"]),
]


def _words(text: str) -> set[str]:
    return set(WORD.findall(text))


def measure(reader: str, paths: list[Path], html: Path) -> dict[str, Any]:
    """Run in a fresh process (`--one`): counts over the files, seconds, peak memory."""
    from psutil import Process

    read = READERS[reader]
    counts = dict.fromkeys(
        ("files", "failed", "headings", "code_blocks", "tables", "slides", "notes"), 0
    )
    found = wanted = 0
    errors: list[str] = []
    with contextlib.suppress(Exception):  # a failure is counted below
        read(paths[0])  # imports and first-use set-up are not what is measured
    # The peak resident size is reset (Linux: clear_refs 5) so imports and the warm-up
    # read do not count; VmHWM is then the peak while reading.
    Path("/proc/self/clear_refs").write_text("5")
    start_rss = Process().memory_info().rss
    started = time.perf_counter()
    for path in paths:
        try:
            text = read(path)
        except Exception as exc:  # a reader's failure is a result here
            counts["failed"] += 1
            errors.append(f"{path.name}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        counts["files"] += 1
        counts["headings"] += len(HEADING.findall(text))
        counts["code_blocks"] += len(FENCE.findall(text)) // 2
        counts["tables"] += len(TABLE_RULE.findall(text))
        counts["slides"] += len(re.findall(r"^#* ?Slide \d+|<!-- Slide number", text, re.M))
        counts["notes"] += len(re.findall(r"Speaker notes:|### Notes:", text))
        source = html / (path.stem + ".html")
        if source.exists():
            truth = _words(pgask(source))
            found, wanted = found + len(truth & _words(text)), wanted + len(truth)
    seconds = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) * 1024  # type: ignore[index]
    return {
        **counts,
        "words_found": round(found / wanted, 3) if wanted else None,
        "seconds": round(seconds, 3),
        "peak_growth_mib": round(max(peak - start_rss, 0) / 2**20, 1),
        "errors": errors[:5],
    }


def _one(reader: str, paths: list[Path], html: Path, timeout: float = 900) -> dict[str, Any]:
    """`measure` in a fresh process; one still reading after `timeout` seconds is stopped
    and recorded so."""
    command = [sys.executable, __file__, "--one", reader, "--html", str(html), *map(str, paths)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"stopped_after_seconds": timeout}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def truth(html: Path) -> dict[str, int]:
    """What the source pages hold: headings, `<pre>` blocks, data tables (not DocBook's
    navigation tables), as bench/html_extractors.py counts them."""
    from bench.html_extractors import truth as pre_and_tables

    counts = dict.fromkeys(("pages", "headings", "pre", "tables"), 0)
    for page in sorted(html.glob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        pre, tables = pre_and_tables(text)
        counts["pages"] += 1
        counts["headings"] += len(re.findall(r"<h[1-6][\s>]", text))
        counts["pre"], counts["tables"] = counts["pre"] + pre, counts["tables"] + tables
    return counts


def big_sheet(corpus: Path, rows: int) -> Path:
    """A sheet of `rows` data rows under a header: an order export (id, date, customer,
    product, quantity, price), written by openpyxl in write-only mode."""
    import datetime as dt

    from openpyxl import Workbook

    path = corpus / f"orders-{rows}.xlsx"
    if path.exists():
        return path
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    sheet.append(["id", "date", "customer", "product", "quantity", "price"])
    day = dt.date(2026, 1, 1)
    for n in range(rows):
        sheet.append(
            [
                n,
                day + dt.timedelta(days=n % 365),
                f"customer {n % 997}",
                f"product {n % 89}",
                n % 7 + 1,
                round(n % 1000 * 0.37, 2),
            ]
        )
    book.save(path)
    return path


def readings(corpus: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for fmt, producer, pattern, readers in SETS:
        paths = sorted((corpus / producer).glob(pattern))
        key = f"{fmt}/{producer}"
        results[key] = {r: _one(r, paths, corpus / "html") for r in readers}
        print(key, json.dumps(results[key]), flush=True)
    sheets: dict[str, Any] = {}
    for rows in (100_001, 99_999):
        path = big_sheet(corpus, rows)
        sheets[path.name] = {
            "bytes": path.stat().st_size,
            **{r: _one(r, [path], corpus / "html", 300) for r in ("pgask", "markitdown")},
        }
        print(path.name, json.dumps(sheets[path.name]), flush=True)
    results["big_sheets"] = sheets
    return results


def hostile(corpus: Path) -> dict[str, Any]:
    """Hostile files (tests/ingest/formats/hostile.py): what pgask's refusal costs, and what
    reading the zip bomb costs markitdown, which has no budget."""
    from tests.ingest.formats import hostile as make_hostile

    folder = corpus / "hostile"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "bomb.docx": make_hostile.docx_bomb(),
        "many.odt": make_hostile.many_entries(),
        "laughs.docx": make_hostile.docx_laughs(),
        "laughs.epub": make_hostile.epub_laughs(),
        "tall.xlsx": make_hostile.xlsx_declaring("A1:C200000"),
        "long.csv": make_hostile.long_csv(),
    }
    out: dict[str, Any] = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        readers = ("pgask", "markitdown") if name == "bomb.docx" else ("pgask",)
        out[name] = {"bytes": len(data), **{r: _one(r, [path], folder) for r in readers}}
        print(name, json.dumps(out[name]), flush=True)
    return out


def main(args: argparse.Namespace) -> None:
    corpus: Path = args.corpus
    if args.make:
        make(corpus)
    if args.hostile:
        results: dict[str, Any] = {"hostile": hostile(corpus)}
    else:
        results = {"source_pages": truth(corpus / "html"), **readings(corpus)}
    write_result(
        f"formats-{args.name}",
        {
            "benchmark": "formats",
            "command": "python bench/formats.py " + " ".join(args.argv),
            "data": __doc__.split("\n\n")[1],
            "machine": machine(),
            "versions": package_versions(
                [
                    "pgask",
                    "markitdown",
                    "mammoth",
                    "python-pptx",
                    "openpyxl",
                    "pandas",
                    "odfpy",
                    "ebooklib",
                    "docutils",
                    "defusedxml",
                ]
            ),
            "tools": {
                "pandoc": subprocess.run(
                    ["pandoc", "--version"], capture_output=True, text=True
                ).stdout.split("\n")[0],
                "soffice": subprocess.run(
                    ["soffice", "--version"], capture_output=True, text=True
                ).stdout.strip(),
            },
            "results": results,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/pgask-formats-corpus"))
    parser.add_argument("--make", action="store_true", help="build the corpus first")
    parser.add_argument("--name", default="real")
    parser.add_argument("--hostile", action="store_true", help="the hostile files instead")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--html", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    parsed.argv = sys.argv[1:]
    if parsed.one:
        print(json.dumps(measure(parsed.one, parsed.paths, parsed.html)))
    else:
        main(parsed)
