"""File-type sniffing: pgask's signature table (ingest/filetypes.py) against puremagic.

Asks one question of each file's first 8 KiB, as discovery does (`ingest.files`): is this
content not prose (an image, font, archive, executable, ...), whatever the file is called?
Three sniffers answer it:

- `pgask`: `ingest.filetypes.content_kind` (SVG by a pattern; signatures trusted only on
  bytes that are not UTF-8 text);
- `guard+puremagic`: the same SVG pattern and binary guard, puremagic's table instead of
  ours (what replacing the table would give);
- `puremagic`: puremagic alone, any match but text, HTML, JSON, XML or PDF counting as
  "not prose".

The data is real files, labelled by their extension: FastAPI's docs folder
(../shared/data/fastapi-docs: Markdown, PNG, SVG, JPEG) and the files of this virtual
environment's site-packages (Python, C, compiled modules, bytecode, images, fonts, data),
at most --per-extension files of each extension, chosen by sorted path. Extensions that
say neither binary nor text (.dat, no extension, ...) are only counted.

    .venv/bin/python bench/sniffing.py            # writes bench/results/sniffing.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import puremagic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SHARED, machine, package_versions, write_result
from ingest.filetypes import _SVG, content_kind, looks_binary

HEAD_BYTES = 8192  # ingest/files.py reads as much
# Labels by extension: content that is not prose (SVG included: text, but drawings) ...
NOT_PROSE = {
    *("png", "jpg", "jpeg", "gif", "ico", "bmp", "webp", "tif", "tiff", "svg", "wav"),
    *("so", "pyc", "onnx", "npz", "exe", "dll", "mo"),
    *("woff", "woff2", "ttf", "otf", "zip", "gz", "whl"),
}
# ... and text, which a content sniffer must never call anything else.
TEXT = {
    *("md", "txt", "rst", "html", "htm", "json", "csv", "sql", "toml", "cfg", "ini"),
    *("py", "pyi", "h", "c", "cc", "cpp", "hpp", "pxd", "pyx", "pxi", "f", "f90"),
    *("js", "css", "sh", "mako", "yaml", "yml"),
}
TEXT_MIME = ("text/", "application/json", "application/xml", "application/pdf")
TEXT_EXT = {".html", ".htm", ".xml", ".txt", ".json", ".pdf", ".md", ".csv", ".svg"}


def pgask(head: bytes) -> str | None:
    return content_kind(head)


def _puremagic(head: bytes) -> Any | None:
    try:
        found = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    return found[0] if found else None


def guard_puremagic(head: bytes) -> str | None:
    if _SVG.match(head):
        return "SVG image"
    if not looks_binary(head):
        return None
    match = _puremagic(head)
    if match is None or match.extension == ".pdf":
        return None
    return str(match.name)


def puremagic_alone(head: bytes) -> str | None:
    match = _puremagic(head)
    if match is None:
        return None
    if match.extension == ".svg":
        return str(match.name)
    if match.mime_type.startswith(TEXT_MIME) or match.extension in TEXT_EXT:
        return None
    return str(match.name)


SNIFFERS: dict[str, Callable[[bytes], str | None]] = {
    "pgask": pgask,
    "guard+puremagic": guard_puremagic,
    "puremagic": puremagic_alone,
}


def corpus(roots: list[Path], per_extension: int) -> list[tuple[str, str, bytes]]:
    """(extension, path, first bytes) of at most `per_extension` files per extension."""
    taken: Counter[str] = Counter()
    files = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            ext = path.suffix.lower().lstrip(".")
            if taken[ext] >= per_extension:
                continue
            taken[ext] += 1
            with path.open("rb") as handle:
                files.append((ext, str(path), handle.read(HEAD_BYTES)))
    return files


def judge(files: list[tuple[str, str, bytes]], sniff: Callable[[bytes], str | None]) -> dict:
    flagged_binary = flagged_text = 0
    missed: Counter[str] = Counter()
    false: dict[str, list[str]] = defaultdict(list)
    for ext, path, head in files:
        kind = sniff(head)
        if ext in NOT_PROSE:
            flagged_binary += kind is not None
            if kind is None:
                missed[ext] += 1
        elif ext in TEXT and kind is not None:
            flagged_text += 1
            false[ext].append(f"{Path(path).name}: {kind}")
    binary = sum(ext in NOT_PROSE for ext, _, _ in files)
    text = sum(ext in TEXT for ext, _, _ in files)
    return {
        "not_prose_files": binary,
        "not_prose_flagged": flagged_binary,
        "not_prose_recall": round(flagged_binary / binary, 4) if binary else None,
        "not_prose_missed_by_extension": dict(missed.most_common()),
        "text_files": text,
        "text_flagged": flagged_text,
        "text_flagged_examples": {ext: names[:5] for ext, names in false.items()},
    }


def timed(files: list[tuple[str, str, bytes]], sniff: Callable[[bytes], str | None]) -> float:
    started = time.perf_counter()
    for _, _, head in files:
        sniff(head)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-extension", type=int, default=60)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    roots = [SHARED / "data" / "fastapi-docs", Path(sysconfig.get_paths()["purelib"])]
    files = corpus([r for r in roots if r.is_dir()], args.per_extension)
    result: dict[str, Any] = {
        "benchmark": "sniffing",
        "command": "python bench/sniffing.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "versions": package_versions(["puremagic"]),
        "params": vars(args) | {"head_bytes": HEAD_BYTES, "roots": [str(r) for r in roots]},
        "data": "real files labelled by extension (see the module docstring)",
        "files": len(files),
        "files_by_label": {
            "not_prose": sum(e in NOT_PROSE for e, _, _ in files),
            "text": sum(e in TEXT for e, _, _ in files),
            "unlabelled": sum(e not in NOT_PROSE | TEXT for e, _, _ in files),
        },
        "sniffers": {},
    }
    for name, sniff in SNIFFERS.items():
        runs = [timed(files, sniff) for _ in range(args.repetitions)]
        result["sniffers"][name] = judge(files, sniff) | {
            "seconds_per_run": [round(s, 5) for s in runs],
            "microseconds_per_file_median": round(statistics.median(runs) / len(files) * 1e6, 2),
        }
    path = write_result("sniffing", result)
    for name, found in result["sniffers"].items():
        print(
            f"{name:16} not prose {found['not_prose_flagged']}/{found['not_prose_files']}"
            f"  text flagged {found['text_flagged']}/{found['text_files']}"
            f"  {found['microseconds_per_file_median']} us/file"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
