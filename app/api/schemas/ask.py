"""Schemas for POST /v1/ask. Sources, citations and usage are the answer pipeline's own
dataclasses, which pydantic validates and documents as they are."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.collections import COLLECTION_NAME_PATTERN
from app.llm import Usage
from app.rag.citations import Citation
from app.rag.service import Answer, AskRequest
from app.rag.sources import Source

MAX_HISTORY = 40


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskIn(BaseModel):
    collection: str = Field(pattern=COLLECTION_NAME_PATTERN, examples=["docs"])
    question: str = Field(min_length=1, max_length=4000, examples=["How do I rotate API keys?"])
    k: int = Field(default=8, ge=1, le=50, description="Passages retrieved as sources")
    mode: Literal["vector", "text", "hybrid"] = "hybrid"
    filter: dict[str, Any] | None = None
    history: list[Message] = Field(default_factory=list, max_length=MAX_HISTORY)
    rewrite: bool = Field(
        default=True, description="Rewrite a follow-up into a standalone query (needs a model)"
    )
    stream: bool = Field(default=False, description="Answer as text/event-stream")

    def to_request(self) -> AskRequest:
        return AskRequest(
            collection=self.collection,
            question=self.question,
            k=self.k,
            mode=self.mode,
            filter=self.filter,
            history=[m.model_dump() for m in self.history],
            rewrite=self.rewrite,
        )


class AskOut(BaseModel):
    answer: str
    generated: bool = Field(description="False for an extractive answer (no model configured)")
    citations: list[Citation]
    sources: list[Source]
    search_query: str = Field(description="What was searched: the question or its rewrite")
    rewritten: bool
    usage: Usage
    timings: dict[str, float]
    dropped_sources: int = Field(description="Sources left out to fit the token budget")

    @classmethod
    def from_answer(cls, answer: Answer) -> AskOut:
        return cls(
            answer=answer.answer,
            generated=answer.generated,
            citations=answer.citations,
            sources=answer.sources,
            search_query=answer.search_query,
            rewritten=answer.rewritten,
            usage=answer.usage,
            timings=answer.timings,
            dropped_sources=answer.dropped_sources,
        )
