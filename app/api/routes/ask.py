"""POST /v1/ask: a cited answer, whole (JSON) or streamed (text/event-stream)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.deps import AnswererDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.reads import QueryRoute
from app.api.schemas.ask import AskIn, AskOut
from app.api.sse import format_event, prepend, sse_response, stream_doc
from app.rag.events import EVENT_NAMES
from app.rag.service import AskRequest

router = APIRouter(tags=["answers"], responses=PROBLEM_RESPONSES, route_class=QueryRoute)

_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": stream_doc(*EVENT_NAMES),
        "description": "With stream=true: events `sources`, `delta`..., then `done` or `error`",
    },
    502: PROBLEM_RESPONSES[500] | {"description": "The chat model failed (sources included)"},
    504: PROBLEM_RESPONSES[500] | {"description": "The chat model timed out (sources included)"},
}


@router.post("/v1/ask", response_model=AskOut, responses=_STREAM_DOC)
async def ask(body: AskIn, answerer: AnswererDep) -> AskOut | StreamingResponse:
    request = AskRequest(**body.model_dump(exclude={"stream"}))
    if not body.stream:
        return AskOut.model_validate(await answerer.answer(request))
    events = answerer.stream(request)
    first = await anext(events)
    return sse_response(format_event(event) async for event in prepend(first, events))
