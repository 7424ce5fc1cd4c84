"""POST /v1/chat/completions: pgask as an OpenAI-compatible "model" (model = collection),
so any OpenAI client or chat UI gets cited answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, assert_never

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.deps import AnswererDep
from app.api.problems import OPENAI_ERROR_RESPONSES
from app.api.reads import QueryRoute
from app.api.schemas.ask import MAX_QUESTION_CHARS
from app.api.schemas.chat import (
    ChatChoice,
    ChatChoiceMessage,
    ChatRequest,
    ChatResponse,
    ChatUsage,
)
from app.api.sse import SSE_HEADERS, format_data, prepend, stream_doc
from app.errors import InvalidInput, NotFound
from app.rag.citations import Citation
from app.rag.events import AnswerEvent, DeltaEvent, DoneEvent, ErrorEvent, SourcesEvent
from app.rag.service import Answerer, AskRequest

router = APIRouter(tags=["answers"], responses=OPENAI_ERROR_RESPONSES, route_class=QueryRoute)


def to_ask_request(body: ChatRequest) -> AskRequest:
    """The last user message is the question; earlier user/assistant turns are history.
    Client system prompts are ignored: pgask's own system prompt governs answers."""
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise InvalidInput("messages: the last user/assistant message must be a user question")
    question = turns[-1].text()
    if len(question) > MAX_QUESTION_CHARS:  # as /v1/ask's question, never silently cut
        raise InvalidInput(f"messages: the question is longer than {MAX_QUESTION_CHARS} characters")
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    return AskRequest(collection=body.model, question=question, history=history)


def sources_footer(citations: list[Citation]) -> str:
    if not citations:
        return ""
    lines = [
        f"[{c.n}] {c.title or c.source}" + (f" ({c.source})" if c.title else "") for c in citations
    ]
    return "\n\nSources:\n" + "\n".join(lines)


@router.post(
    "/v1/chat/completions",
    response_model=ChatResponse,
    responses={200: {"content": stream_doc()}},
)
async def chat_completions(body: ChatRequest, answerer: AnswererDep) -> Any:
    try:
        return await _complete(body, answerer)
    except NotFound as exc:
        # All an answer can miss is its collection: tell OpenAI clients the way OpenAI does.
        raise NotFound(exc.detail, code="model_not_found", param="model") from exc


async def _complete(body: ChatRequest, answerer: Answerer) -> Any:
    request = to_ask_request(body)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        events = answerer.stream(request)
        first = await anext(events)
        return StreamingResponse(
            _chunks(prepend(first, events), completion_id, created, body.model),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    answer = await answerer.answer(request)
    return ChatResponse(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[
            ChatChoice(
                message=ChatChoiceMessage(content=answer.answer + sources_footer(answer.citations))
            )
        ],
        usage=ChatUsage.model_validate(answer.usage, from_attributes=True),
        citations=answer.citations,
    )


def _chunk(
    completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> str:
    payload = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return format_data(payload)


async def _chunks(
    events: AsyncIterator[AnswerEvent],
    completion_id: str,
    created: int,
    model: str,
) -> AsyncIterator[str]:
    """The OpenAI streaming format: chat.completion.chunk objects, then [DONE]."""
    yield _chunk(completion_id, created, model, {"role": "assistant", "content": ""})
    async for event in events:
        match event:
            case DeltaEvent():
                yield _chunk(completion_id, created, model, {"content": event.text})
            case DoneEvent():
                footer = sources_footer(event.citations)
                if footer:
                    yield _chunk(completion_id, created, model, {"content": footer})
                yield _chunk(completion_id, created, model, {}, finish="stop")
            case ErrorEvent():
                # An error object in the stream, as OpenAI-compatible servers send one: the
                # openai client raises it (APIError), so a broken answer never looks finished.
                error = {"message": event.detail, "type": event.title, "code": event.status}
                yield format_data({"error": error})
            case SourcesEvent():
                pass  # the chat format has no place for them; the footer names the cited ones
            case _:
                assert_never(event)  # a new kind of event must be handled here
    yield format_data("[DONE]")
