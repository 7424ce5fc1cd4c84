"""The embedding models' token counters that ingestion's parse workers unpickle, in a module
that imports only tiktoken: a worker unpickling a counter imports the counter's module, and
`app.embeddings.openai` (the openai client, numpy, settings) cost each parse worker 68 MB
of private memory (USS 9 MB -> 77 MB per idle worker, measured with psutil)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import tiktoken

if TYPE_CHECKING:  # unpickling a WordPieces imports tokenizers; the cl100k counter needs none
    from tokenizers import Tokenizer


def cl100k_tokens(text: str) -> int:
    """A text's length in OpenAI's embedding tokens (a module function: picklable)."""
    return len(tiktoken.get_encoding("cl100k_base").encode_ordinary(text))


@dataclass(frozen=True)
class WordPieces:
    """Counts a text's word pieces with a tokenizer that neither cuts nor pads (picklable:
    ingestion's parse workers chunk with it)."""

    tokenizer: Tokenizer

    def __call__(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)
