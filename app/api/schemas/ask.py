"""Schemas for POST /v1/ask. Sources, citations and usage are the answer pipeline's own
dataclasses, which pydantic validates and documents as they are."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.catalog import COLLECTION_NAME_PATTERN
from app.completion import Usage
from app.rag.citations import Citation
from app.rag.sources import AnswerSource

MAX_HISTORY = 40
MAX_QUESTION_CHARS = 4000
MAX_MESSAGE_CHARS = 20_000  # a history message (chat completions: every message)


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)


class AskIn(BaseModel):
    collection: str = Field(pattern=COLLECTION_NAME_PATTERN, examples=["docs"])
    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, examples=["How do I rotate API keys?"]
    )
    k: int = Field(default=8, ge=1, le=50, description="Passages retrieved as sources")
    mode: Literal["vector", "text", "hybrid"] = "hybrid"
    filter: dict[str, Any] | None = None
    max_per_document: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description="Most sources from one document (0: no cap; default: "
        "PGASK_ASK_MAX_PER_DOCUMENT)",
    )
    history: list[Message] = Field(default_factory=list, max_length=MAX_HISTORY)
    rewrite: bool = Field(
        default=True, description="Rewrite a follow-up into a standalone query (needs a model)"
    )
    stream: bool = Field(default=False, description="Answer as text/event-stream")


class AskOut(BaseModel):  # validated from the pipeline's `Answer`
    model_config = ConfigDict(from_attributes=True)

    answer: str
    generated: bool = Field(description="False for an extractive answer (no model configured)")
    citations: list[Citation]
    sources: list[AnswerSource]
    search_query: str = Field(description="What was searched: the question or its rewrite")
    rewritten: bool
    usage: Usage
    timings: dict[str, float]
    dropped_sources: int = Field(description="Sources left out to fit the token budget")
