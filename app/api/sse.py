"""Server-sent events for streamed answers: the framing, the response, and the OpenAPI
description of a stream (docs/decisions/0033-sse-framing.md says why they are pgask's own)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any, TypeVar

from fastapi.responses import StreamingResponse

from app.rag.events import AnswerEvent, ErrorEvent

log = logging.getLogger(__name__)

T = TypeVar("T")

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def stream_doc(*events: str) -> dict[str, Any]:
    """The OpenAPI content of an event stream. Before OpenAPI 3.2 (FastAPI writes 3.1) the
    schema describes one event, as a client parses it: its name (if `events`) and data."""
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "string", "description": "JSON"}},
    }
    if events:
        schema["required"].append("event")
        schema["properties"]["event"] = {"type": "string", "enum": list(events)}
    return {"text/event-stream": {"schema": schema}}


def format_event(event: AnswerEvent) -> str:
    """An answer event as SSE: its name, and its fields as the JSON data."""
    return f"event: {event.name}\n{format_data(asdict(event))}"


def format_data(payload: object) -> str:
    """An unnamed event whose data is `payload` as JSON (the OpenAI streaming format). JSON
    as `json.dumps` writes it holds no line break, so the data is one `data:` line."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return f"data: {text}\n\n"


async def _guarded(events: AsyncIterator[str]) -> AsyncIterator[str]:
    """Once the response has started, a failure can only be reported as an event."""
    try:
        async for chunk in events:
            yield chunk
    except Exception:
        log.exception("stream failed after it started")
        yield format_event(
            ErrorEvent(status=500, title="Internal error", detail="the answer failed")
        )


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(_guarded(events), media_type="text/event-stream", headers=SSE_HEADERS)


async def prepend(first: T, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    """`first`, then the rest: routes take the first event before answering, so that
    errors before any output (unknown collection, bad filter) are ordinary HTTP errors."""
    yield first
    async for item in rest:
        yield item
