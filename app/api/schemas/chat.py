"""Schemas for POST /v1/chat/completions: the OpenAI chat format, with the collection as
the model name."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.schemas.ask import MAX_HISTORY, MAX_MESSAGE_CHARS
from app.rag.citations import Citation


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ChatMessage:
        # The same bound as /v1/ask's history messages: 41 messages of 3 MB were accepted.
        if len(self.text()) > MAX_MESSAGE_CHARS:
            raise ValueError(f"content is longer than {MAX_MESSAGE_CHARS} characters")
        return self

    def text(self) -> str:
        """Plain text of the message (OpenAI allows a list of content parts)."""
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """Fields OpenAI clients send that pgask does not use (temperature, tools, ...) are
    accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(description="The collection to answer from", examples=["docs"])
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_HISTORY + 1)
    stream: bool = False


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: Literal["stop"] = "stop"


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage
    citations: list[Citation] = Field(description="pgask extension: the cited passages")
