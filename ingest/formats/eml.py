"""E-mail messages (EML, RFC 5322): the subject is the title, From, To, Cc and Date are the
first paragraph and top-level metadata (`email_from`..., the date in ISO 8601 UTC, so a
search filter can use them), the body is the HTML part through the HTML reader (its
tables and headings kept, as on a web page) or, with none, the text part. Attachments are
listed by name, type and size, and not read.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
from email.message import EmailMessage

from app.errors import InvalidInput
from ingest.formats.model import Outline, Parsed

_HEADERS = ("from", "to", "cc", "date", "subject")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):  # a header too malformed to parse
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _iso_date(value: str) -> str | None:
    """The Date header in ISO 8601 UTC, so metadata filters compare it in time order."""
    try:
        sent = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if sent.tzinfo is None:
        return sent.isoformat()
    return sent.astimezone(dt.UTC).isoformat()


def _body(message: EmailMessage) -> list[tuple[tuple[str, ...], str]]:
    """The body's paragraphs under their heading paths."""
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return []
    try:
        content = part.get_content()
    except (LookupError, ValueError) as exc:  # an unknown charset, a broken encoding
        raise InvalidInput(f"unreadable message body: {exc}") from exc
    if not isinstance(content, str):
        return []
    if part.get_content_subtype() == "html":
        from ingest.html_text import html_page

        return [
            (tuple(h for _, h in path), "\n\n".join(parts))
            for path, parts in html_page(content).sections
        ]
    return [((), content.replace("\r\n", "\n"))]


def _attachments(message: EmailMessage) -> list[str]:
    found = []
    for part in message.iter_attachments():
        name = part.get_filename() or "(unnamed)"
        size = len(part.get_payload(decode=True) or b"")
        found.append(f"{name} ({part.get_content_type()}, {size:,} bytes)")
    return found


def read_eml(data: bytes) -> Parsed:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not any(message.keys()):
        raise InvalidInput("not an e-mail message: no headers")
    headers = {name: value for name in _HEADERS if (value := _header(message, name))}
    outline = Outline()
    outline.add("\n".join(f"{name.title()}: {value}" for name, value in headers.items()))
    outline.flush()
    for path, text in _body(message):
        outline.path = [(level, h) for level, h in enumerate(path, 1)]
        outline.add(text)
        outline.flush()
    attachments = _attachments(message)
    if attachments:
        outline.add("Attachments (not read): " + "; ".join(attachments))
    parsed = outline.done()
    parsed.title = headers.get("subject", "")
    parsed.metadata = {f"email_{name}": value for name, value in headers.items()}
    if (sent := _iso_date(headers.get("date", ""))) is not None:
        parsed.metadata["email_date"] = sent
    if attachments:
        parsed.notes.append(f"{len(attachments)} attachment(s) listed, not read")
    return parsed
