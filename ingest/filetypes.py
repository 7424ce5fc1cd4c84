"""What a file is, by its first bytes and then its name: images (SVG too), fonts, archives,
audio, video, executables and web assets are not prose, and reading them as text gave
thousands of chunks of base64 and path data (one draw.io SVG: 5,435 chunks).

`skip_reason` names why a file is skipped, or None when a loader should read it. Content
wins over the name: a PNG called `notes.md` is still an image. A PDF is recognised by its
content whatever its name, so it reaches the PDF loader.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ingest.formats.sniff import package_verdict

# (offset, signature, kind); the kinds become the reason shown to the user.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"BM", "BMP image"),
    (0, b"\x00\x00\x01\x00", "icon image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"\x00\x01\x00\x00\x00", "TrueType font"),
    (0, b"OTTO", "OpenType font"),
    (0, b"ttcf", "TrueType font collection"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"BZh", "bzip2 archive"),
    (0, b"\xfd7zXZ\x00", "xz archive"),
    (0, b"(\xb5/\xfd", "zstd archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x7fELF", "executable"),
    (0, b"MZ", "executable"),
    (0, b"\xcf\xfa\xed\xfe", "executable"),
    (0, b"\x00asm", "WebAssembly binary"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"ID3", "audio"),
    (0, b"OggS", "audio"),
    (0, b"fLaC", "audio"),
    (4, b"ftyp", "video"),
    (0, b"\x1a\x45\xdf\xa3", "video"),
)
# RIFF containers: the type sits at offset 8.
_RIFF = {b"WEBP": "WebP image", b"WAVE": "audio", b"AVI ": "video"}

# Names whose content has no reliable signature (or is text, like SVG, CSS and JavaScript).
_KINDS_BY_EXTENSION = {
    "SVG image": "svg svgz",
    "image": "png jpg jpeg gif webp bmp ico tif tiff avif heic psd drawio",
    "font": "woff woff2 ttf otf eot",
    "archive": "zip gz tgz bz2 xz zst 7z rar tar jar whl",
    "audio": "mp3 wav ogg flac m4a",
    "video": "mp4 webm mkv mov avi",
    "binary": "exe dll so dylib o a class pyc wasm",
    "web asset (style or script)": "css scss js mjs map",
}
_EXTENSIONS = {
    f".{ext}": kind for kind, exts in _KINDS_BY_EXTENSION.items() for ext in exts.split()
}

# An SVG may open with an XML declaration, comments and a doctype before `<svg`.
_SVG = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>]*>)\s*)*<svg\b",
    re.IGNORECASE | re.DOTALL,
)


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or bytes that are not UTF-8 before the (possibly cut) last character."""
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4
    return False


def content_kind(head: bytes) -> str | None:
    """The kind of file the first bytes show: signatures are only trusted on binary bytes,
    so a text file that happens to start with "BM" or "MZ" stays text."""
    if _SVG.match(head):
        return "SVG image"
    if not looks_binary(head):
        return None
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    for offset, signature, kind in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    return None  # other binary bytes: the loader (or discovery) says what is wrong


def is_pdf(head: bytes) -> bool:
    # Readers accept the header anywhere in the first KiB; files start with it in practice.
    return b"%PDF-" in head[:1024]


# Sphinx copies each page's source next to the built site (`_sources/intro.rst.txt`):
# ingested beside the HTML, every page would be there twice.
_SPHINX_SOURCE = re.compile(r"(?:^|/)_sources/.+\.(?:rst|md|txt|ipynb)\.txt$")


def skip_reason(name: str, head: bytes) -> str | None:
    """Why a file with this name and these first bytes is not read, or None to read it."""
    if _SPHINX_SOURCE.search(name):
        return "a Sphinx copy of a page's source (_sources/): the page is read as HTML"
    if is_pdf(head):
        return None
    if (verdict := package_verdict(name, head)) is not None:  # DOCX, XLSX, EPUB... are ZIPs
        return verdict or None
    kind = content_kind(head) or _EXTENSIONS.get(PurePosixPath(name).suffix.lower())
    return f"not prose: {kind}" if kind else None
