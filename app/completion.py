"""What a chat model hands back (text and token usage), apart from `app.llm` so that answer
events, API schemas and extractive answers use them without importing the `openai` package
(a second of every CLI start on the development machine; see docs/benchmarks/ingest.md, "CLI
start")."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
